//! Small async helpers: free ports and polling until a condition holds.

use std::future::Future;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is found by binding port 0 and closing the listener again, so a
/// different process may grab it in between; callers that start servers on it
/// should be ready to retry.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Polls `f` until it returns `Some`, or fails once `timeout` has passed.
///
/// `f` is always called at least once; between calls the delay grows from
/// 20 ms to at most 250 ms.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(20);
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        if let Some(value) = f().await {
            return Ok(value);
        }
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            anyhow::bail!("condition not met within {timeout:?} ({attempts} attempts, {elapsed:?} elapsed)");
        }
        tokio::time::sleep(delay.min(timeout - elapsed)).await;
        delay = (delay * 2).min(Duration::from_millis(250));
    }
}
