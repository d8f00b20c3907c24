//! Work that one process at a time should do, though any may: whoever holds
//! a lease in the key-value bucket `sole_runners` does it; the others wait
//! and take over within [`TTL`] of the holder's end.
//!
//! The lease saves duplicate work, it does not make the work safe: the work
//! itself must stay correct when two processes briefly run it at once (the
//! projector, the one user, fences every batch on its checkpoint).

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use tokio::sync::watch;

const BUCKET: &str = "sole_runners";
/// Life of a lease its holder stopped refreshing.
pub const TTL: Duration = Duration::from_secs(3);
const REFRESH: Duration = Duration::from_secs(1);

async fn bucket(js: &jetstream::Context, replicas: usize) -> Result<kv::Store, String> {
    match js.get_key_value(BUCKET).await {
        Ok(store) => Ok(store),
        Err(_) => js
            .create_key_value(kv::Config {
                bucket: BUCKET.to_string(),
                description: "which process runs each piece of work meant for one at a time".into(),
                history: 1,
                max_age: TTL,
                num_replicas: replicas.max(1),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string()),
    }
}

/// Runs `work` (given a receiver that turns true when it must stop) while
/// this process holds the lease `name`, until `shutdown`.
pub async fn run_alone<F, Fut>(
    js: jetstream::Context,
    name: &str,
    replicas: usize,
    mut shutdown: watch::Receiver<bool>,
    work: F,
) where
    F: Fn(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let me = uuid::Uuid::new_v4().simple().to_string();
    while !*shutdown.borrow() {
        let held = match bucket(&js, replicas).await {
            Ok(store) => store.create(name, me.clone().into()).await.ok().map(|revision| (store, revision)),
            Err(e) => {
                tracing::warn!(lease = name, error = %e, "the lease bucket is unavailable; retrying");
                None
            }
        };
        let Some((store, mut revision)) = held else {
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = tokio::time::sleep(REFRESH) => {}
            }
            continue;
        };
        tracing::info!(lease = name, "taking the work on");
        let (stop, stop_rx) = watch::channel(false);
        let mut running = tokio::spawn(work(stop_rx));
        let finished = loop {
            tokio::select! {
                _ = shutdown.changed() => break false,
                _ = &mut running => break true,
                _ = tokio::time::sleep(REFRESH) => {}
            }
            match store.update(name, me.clone().into(), revision).await {
                Ok(next) => revision = next,
                Err(e) => {
                    tracing::warn!(lease = name, error = %e, "lease lost; stopping the work");
                    break false;
                }
            }
        };
        let _ = stop.send(true);
        if !finished {
            let _ = running.await;
        }
        let _ = store.delete_expect_revision(name, Some(revision)).await;
        if finished {
            // The work ended by itself: nothing more to do until shutdown.
            let _ = shutdown.wait_for(|s| *s).await;
        }
    }
}
