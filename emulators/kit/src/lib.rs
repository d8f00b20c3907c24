//! Server scaffolding shared by the emulators, so that each of them only
//! brings its routes and state:
//!
//! * [`serve`] binds warp routes and serves them on a task until the returned
//!   [`Served`] is shut down or dropped.
//! * [`init_logging`] and [`wait_for_stop_signal`] are what every emulator
//!   binary does before and after serving.
//! * [`json_api`] is the JSON API front of the emulators that answer JSON
//!   only: answers, refusals, body decoding and a route to one `dispatch`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use warp::Filter;
//!
//! let served = emulator_kit::serve(warp::path("ping").map(|| "pong"), ([127, 0, 0, 1], 0).into())?;
//! println!("serving at {}", served.base_url());
//! served.shutdown().await;
//! # Ok(()) }
//! ```

pub mod json_api;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long shutdown waits for open requests before it stops waiting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Routes being served over HTTP. Shutting it down or dropping it closes the
/// listener; [`Served::shutdown`] also waits a while for open requests.
pub struct Served {
    /// The address actually bound.
    pub addr: SocketAddr,
    /// Taken by `shutdown`, so that `Drop` knows the server is already stopping.
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl Served {
    /// The server's base, e.g. `http://127.0.0.1:8083`, without a trailing `/`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving: closes the listener and waits up to a second for open
    /// requests. A request still running then is left to finish on its own
    /// (hyper runs each connection on a task of its own), so shutdown never hangs.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let server = &mut self.server;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut *server).await.is_err() {
            server.abort();
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            self.server.abort();
        }
    }
}

/// Binds `listen` (port 0 picks a free one) and serves `routes` on a Tokio
/// task until the returned [`Served`] is shut down or dropped. Must be called
/// inside a Tokio runtime.
pub fn serve<F>(routes: F, listen: SocketAddr) -> anyhow::Result<Served>
where
    // What `warp::serve` asks of a filter; its `F::Error: IsReject` bound is
    // implied by `Filter` (and cannot be named: the trait is sealed).
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (addr, server) = warp::serve(routes).try_bind_with_graceful_shutdown(listen, async move {
        let _ = stop_rx.await;
    })?;
    let server = tokio::spawn(server);
    Ok(Served { addr, stop: Some(stop_tx), server })
}

/// Logs to stderr at the level `RUST_LOG` sets, `info` by default.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

/// What an emulator's binary does once it serves: waits for Ctrl-C or
/// SIGTERM, then runs `shutdown`.
pub async fn serve_until_stopped(shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    wait_for_stop_signal().await?;
    tracing::info!("shutting down");
    shutdown.await;
    Ok(())
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one (containers).
pub async fn wait_for_stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::mpsc;
    use warp::Filter;

    use super::*;

    fn any_port() -> SocketAddr {
        ([127, 0, 0, 1], 0).into()
    }

    /// A raw HTTP/1.1 request, so the kit's tests need no HTTP client.
    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("request sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("response read");
        response
    }

    /// Whether the address stops taking connections within a couple of seconds.
    async fn stops_listening(addr: SocketAddr) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if TcpStream::connect(addr).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn serves_the_routes_at_the_bound_address() {
        let served = serve(warp::path("ping").map(|| "pong"), any_port()).expect("binds");
        assert_ne!(served.addr.port(), 0);
        assert_eq!(served.base_url(), format!("http://127.0.0.1:{}", served.addr.port()));
        let response = get(served.addr, "/ping").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("pong"), "{response}");
        served.shutdown().await;
    }

    #[tokio::test]
    async fn a_taken_address_is_an_error() {
        let served = serve(warp::any().map(warp::reply), any_port()).expect("binds");
        assert!(serve(warp::any().map(warp::reply), served.addr).is_err());
    }

    #[tokio::test]
    async fn shutdown_lets_an_open_request_finish() {
        let (entered_tx, mut entered_rx) = mpsc::unbounded_channel::<()>();
        let slow = warp::any().then(move || {
            let _ = entered_tx.send(());
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                "done"
            }
        });
        let served = serve(slow, any_port()).expect("binds");
        let addr = served.addr;
        let request = tokio::spawn(async move { get(addr, "/").await });
        entered_rx.recv().await.expect("the request arrives");
        served.shutdown().await;
        let response = request.await.expect("the request task");
        assert!(response.ends_with("done"), "{response}");
        assert!(TcpStream::connect(addr).await.is_err(), "still listening after shutdown");
    }

    #[tokio::test]
    async fn shutdown_stops_waiting_for_a_request_that_outlasts_the_grace_period() {
        let (entered_tx, mut entered_rx) = mpsc::unbounded_channel::<()>();
        let stuck = warp::any().then(move || {
            let _ = entered_tx.send(());
            std::future::pending::<&'static str>()
        });
        let served = serve(stuck, any_port()).expect("binds");
        let addr = served.addr;
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        stream.write_all(b"GET / HTTP/1.1\r\nHost: sandbox\r\n\r\n").await.expect("request sent");
        entered_rx.recv().await.expect("the request arrives");
        let started = Instant::now();
        served.shutdown().await;
        let took = started.elapsed();
        assert!(took >= SHUTDOWN_GRACE && took < SHUTDOWN_GRACE + Duration::from_secs(1), "{took:?}");
        assert!(TcpStream::connect(addr).await.is_err(), "still listening after shutdown");
    }

    #[tokio::test]
    async fn dropping_stops_the_server() {
        let served = serve(warp::any().map(warp::reply), any_port()).expect("binds");
        let addr = served.addr;
        drop(served);
        assert!(stops_listening(addr).await, "still listening after drop");
    }
}
