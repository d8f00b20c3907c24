//! Patience at start-up: a JetStream cluster that is still electing its
//! leaders answers late, "no responders" or not at all, which is no reason
//! for a service to exit. Each start-up step is run again, with a growing
//! pause, until it is answered or fails in a way waiting will not mend.

use std::future::Future;
use std::time::Duration;

const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// Runs `step` until it succeeds or fails with an error `passing` does not
/// call passing, which is returned at once.
pub async fn until_answered<T, E, F, Fut>(what: &str, mut step: F, passing: impl Fn(&E) -> bool) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut pause = FIRST_PAUSE;
    loop {
        match step().await {
            Err(e) if passing(&e) => {
                let retry_in_ms = pause.as_millis() as u64;
                tracing::warn!(error = %e, step = what, retry_in_ms, "JetStream did not answer a start-up step; retrying");
            }
            done => return done,
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_passing_failure_is_tried_again_and_a_lasting_one_returned_at_once() {
        let calls = AtomicU32::new(0);
        let answered = until_answered(
            "step",
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err("no responders")
                } else {
                    Ok(7)
                }
            },
            |_| true,
        )
        .await;
        assert_eq!((answered, calls.load(Ordering::SeqCst)), (Ok(7), 3));

        let calls = AtomicU32::new(0);
        let refused: Result<(), &str> = until_answered(
            "step",
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("bad definition")
            },
            |e| *e != "bad definition",
        )
        .await;
        assert_eq!((refused, calls.load(Ordering::SeqCst)), (Err("bad definition"), 1));
    }
}
