//! A TCP proxy a test can cut: the services reach a server (Postgres)
//! through it, and [`TcpProxy::cut`] makes the server unreachable for them —
//! every open connection closed, every new one closed on arrival — until
//! [`TcpProxy::restore`].

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct TcpProxy {
    port: u16,
    open: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards to `target` (`host:port`).
    pub async fn start(target: &str) -> anyhow::Result<TcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("binding the proxy")?;
        let port = listener.local_addr()?.port();
        let (open, _) = watch::channel(true);
        let accept = tokio::spawn(accept_loop(listener, target.to_string(), open.clone()));
        Ok(TcpProxy { port, open, accept })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, target: String, open: watch::Sender<bool>) {
    while let Ok((client, _)) = listener.accept().await {
        if !*open.borrow() {
            drop(client);
            continue;
        }
        let target = target.clone();
        let mut state = open.subscribe();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(&target).await else { return };
            tokio::select! {
                _ = pipe(client, server) => {}
                _ = state.wait_for(|open| !*open) => {}
            }
        });
    }
}

async fn pipe(mut client: TcpStream, mut server: TcpStream) {
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// `url` with its `host:port` replaced by the proxy's.
pub fn through(url: &str, proxy: &TcpProxy) -> anyhow::Result<String> {
    let (scheme, rest) = url.split_once("://").context("no scheme in the URL")?;
    let (userinfo, hostpath) = rest.rsplit_once('@').map_or(("", rest), |(u, h)| (u, h));
    let path = hostpath.find('/').map_or("", |i| &hostpath[i..]);
    let at = if userinfo.is_empty() { String::new() } else { format!("{userinfo}@") };
    Ok(format!("{scheme}://{at}127.0.0.1:{}{path}", proxy.port()))
}

/// The `host:port` a URL points at.
pub fn target_of(url: &str) -> anyhow::Result<String> {
    let (_, rest) = url.split_once("://").context("no scheme in the URL")?;
    let hostpath = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let hostport = hostpath.split('/').next().unwrap_or_default();
    Ok(if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:5432") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_url_is_pointed_through_the_proxy() {
        let proxy = TcpProxy::start("127.0.0.1:5432").await.unwrap();
        let port = proxy.port();
        assert_eq!(
            through("postgres://u:p@db.local:5433/nt_1", &proxy).unwrap(),
            format!("postgres://u:p@127.0.0.1:{port}/nt_1")
        );
        assert_eq!(target_of("postgres://u:p@db.local:5433/nt_1").unwrap(), "db.local:5433");
        assert_eq!(target_of("postgres://db.local/nt_1").unwrap(), "db.local:5432");
    }
}
