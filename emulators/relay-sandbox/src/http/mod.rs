//! The HTTP front: `/v1` is the public ledger API, `/relay` the control API,
//! and anything else is a JSON 404.

mod control;
mod public;

use std::sync::Arc;

use emulator_kit::json_api::{self, segments_under, HttpError, HttpResult};
use warp::http::header::AUTHORIZATION;
use warp::http::{HeaderMap, Method, Response};
use warp::hyper::Body;
use warp::Filter;

use crate::error::LedgerError;
use crate::ledger::Relay;

impl From<LedgerError> for HttpError {
    fn from(e: LedgerError) -> Self {
        HttpError::new(e.status(), e.code(), e.to_string()).with_field(e.field())
    }
}

fn dispatch(relay: &Relay, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> HttpResult {
    if let Some(segments) = segments_under(path, "/v1") {
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        public::handle(relay, method, &segments, authorization)
    } else if let Some(segments) = segments_under(path, "/relay") {
        control::handle(relay, method, &segments, body)
    } else {
        Err(HttpError::not_found())
    }
}

/// All routes of a relay-sandbox.
pub fn routes(relay: Arc<Relay>) -> impl Filter<Extract = (Response<Body>,), Error = warp::Rejection> + Clone {
    // The ledger answers at once, so its dispatch is synchronous.
    json_api::routes(relay, |relay, method, path, headers, body| {
        std::future::ready(dispatch(&relay, &method, &path, &headers, &body))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_their_field() {
        let e = HttpError::from(LedgerError::WalletNotFound { field: "to_wallet_id", wallet_id: "w".into() });
        assert_eq!((e.status, e.code, e.field.as_deref()), (404, "wallet_not_found", Some("to_wallet_id")));
        let e = HttpError::from(LedgerError::ZeroAmount);
        assert_eq!((e.status, e.code, e.field), (400, "invalid_amount", None));
    }
}
