//! Per-key request rates: each project API key may make `API_RATE_PER_SECOND`
//! requests a second (with `API_RATE_BURST` at once) on this instance; above
//! it, 429 with `Retry-After`. The admin key is the operator's and is not
//! limited. Per instance: N ingress instances allow N times the rate.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use novij_config::ApiRate;
use warp::http::StatusCode;

use crate::error::ApiError;

#[derive(Clone)]
pub struct KeyRates {
    limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    clock: DefaultClock,
}

impl KeyRates {
    pub fn new(rate: ApiRate) -> Self {
        let quota = NonZeroU32::new(rate.per_second).map(|per_second| {
            Quota::per_second(per_second).allow_burst(NonZeroU32::new(rate.burst).unwrap_or(per_second))
        });
        Self { limiter: quota.map(|q| Arc::new(RateLimiter::keyed(q))), clock: DefaultClock::default() }
    }

    /// Counts a request of the key `key`; a 429 naming when to retry once it is over its rate.
    pub fn admit(&self, key: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        match limiter.check_key(&key.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "this API key is over its request rate; retry after the time given",
                )
                .with_retry_after(seconds.max(1)))
            }
        }
    }
}
