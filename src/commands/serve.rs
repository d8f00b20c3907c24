//! `serve <service|all>`: runs services until SIGINT/SIGTERM.
//!
//! Every process also runs the projector: its durable consumer lets one event
//! be in flight at a time across all of them, so projections stay current
//! whichever services are up.

use anyhow::Context;
use novij_runtime::Runtime;
use tokio::sync::watch;

use super::load_config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    Ingress,
    PaymentVerifier,
    Dispatcher,
    Scheduler,
    Connect,
    All,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Ingress => "ingress",
            Service::PaymentVerifier => "payment-verifier",
            Service::Dispatcher => "dispatcher",
            Service::Scheduler => "scheduler",
            Service::Connect => "connect",
            Service::All => "all",
        }
    }
}

async fn run_one(service: Service, rt: Runtime, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    match service {
        Service::Ingress => novij_ingress::run(rt, shutdown).await,
        Service::PaymentVerifier => novij_payment_verifier::run(rt, shutdown).await,
        Service::Dispatcher => novij_dispatcher::run(rt, shutdown).await,
        Service::Scheduler => novij_scheduler::run(rt, shutdown).await,
        Service::Connect => novij_connect::run(rt, shutdown).await,
        Service::All => {
            let (a, b, c, d, e) = tokio::join!(
                novij_ingress::run(rt.clone(), shutdown.clone()),
                novij_payment_verifier::run(rt.clone(), shutdown.clone()),
                novij_dispatcher::run(rt.clone(), shutdown.clone()),
                novij_scheduler::run(rt.clone(), shutdown.clone()),
                novij_connect::run(rt, shutdown),
            );
            a.and(b).and(c).and(d).and(e)
        }
    }
}

/// `GET /metrics` on `listen`, until shutdown.
async fn serve_metrics(listen: std::net::SocketAddr, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    use warp::Filter as _;
    let route = warp::path!("metrics")
        .and(warp::get())
        .map(|| warp::reply::with_header(novij_metrics::render(), "content-type", novij_metrics::CONTENT_TYPE));
    let (bound, server) = warp::serve(route)
        .try_bind_with_graceful_shutdown(listen, async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .with_context(|| format!("METRICS_LISTEN: cannot listen on {listen}"))?;
    tracing::info!(%bound, "serving metrics");
    tokio::spawn(server);
    Ok(())
}

pub async fn run(service: Service) -> anyhow::Result<()> {
    let config = load_config()?;
    // Kept to the end: dropping it sends the last spans.
    let _telemetry = novij_telemetry::init(config.log_format, config.otlp_endpoint.as_deref(), service.name())?;
    novij_metrics::install()?;
    let metrics_listen = config.metrics_listen;
    let rt = Runtime::start(config, service.name()).await.context("starting")?;
    let (tx, shutdown) = watch::channel(false);
    if let Some(listen) = metrics_listen {
        serve_metrics(listen, shutdown.clone()).await?;
    }
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    tracing::info!(service = service.name(), version = env!("CARGO_PKG_VERSION"), "started");
    let projector = novij_projections::Projector::new(rt.db.clone());
    let js = rt.jetstream.clone();
    let projector = novij_bus::alone::run_alone(
        js.clone(),
        "projector",
        rt.config.nats_stream_replicas,
        shutdown.clone(),
        move |stop| projector.clone().run(js.clone(), stop),
    );
    let (result, ()) = tokio::join!(run_one(service, rt, shutdown), projector);
    result
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
