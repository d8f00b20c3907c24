//! The control API under `/control`: tests publish packages, read the
//! download log and reset the site.

use bytes::Buf;
use futures::Stream;
use serde_json::json;
use warp::http::{Method, Response, StatusCode};
use warp::hyper::Body;

use super::{json, only, HttpResult};
use crate::error::SiteError;
use crate::store::{Publication, Store, MAX_PACKAGE_BYTES};

pub(super) async fn handle<S, B>(
    store: &Store,
    method: &Method,
    segments: &[&str],
    query: &str,
    declared_length: Option<u64>,
    body: S,
) -> HttpResult
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf + Send,
{
    match segments {
        ["channels", channel, "packages"] => {
            only(method, "POST")?;
            // Refused before a byte is stored; a body without a length is counted as it streams.
            if declared_length.is_some_and(|length| length > MAX_PACKAGE_BYTES) {
                return Err(SiteError::BodyTooLarge(MAX_PACKAGE_BYTES));
            }
            let release = store.publish(channel, publication(query)?, body).await?;
            tracing::info!(%channel, file = %release.file, sha256 = %release.sha256, "package published");
            json(201, &release, method)
        }
        ["downloads"] => {
            only(method, "GET")?;
            json(200, &json!({"downloads": store.downloads()}), method)
        }
        ["reset"] => {
            only(method, "DELETE")?;
            store.reset()?;
            tracing::info!("site reset");
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::empty())
                .map_err(|e| SiteError::internal("building a response", e))
        }
        _ => Err(SiteError::NotFound),
    }
}

/// `version`, `architecture` and optional `sha256` from the query; any
/// other parameter, or one given twice, is refused so a typo cannot pass.
fn publication(query: &str) -> Result<Publication, SiteError> {
    let (mut version, mut architecture, mut sha256) = (None, None, None);
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match name.as_ref() {
            "version" => &mut version,
            "architecture" => &mut architecture,
            "sha256" => &mut sha256,
            other => return Err(SiteError::invalid(other, format!("unknown parameter {other:?}"))),
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(SiteError::invalid(&name, format!("{name} is given twice")));
        }
    }
    let required = |value: Option<String>, field: &str| {
        value.ok_or_else(|| SiteError::invalid(field, format!("the query parameter {field} is required")))
    };
    Ok(Publication {
        version: required(version, "version")?,
        architecture: required(architecture, "architecture")?,
        sha256_override: sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_a_publication() {
        let p = publication("version=0.2.0-1%2Bb1&architecture=amd64").expect("parsed");
        assert_eq!((p.version.as_str(), p.architecture.as_str(), p.sha256_override), ("0.2.0-1+b1", "amd64", None));
        let p = publication(&format!("architecture=arm64&sha256={}&version=1", "ab".repeat(32))).expect("parsed");
        assert_eq!(p.sha256_override, Some("ab".repeat(32)));
        for (query, field) in [
            ("architecture=amd64", "version"),
            ("version=1", "architecture"),
            ("version=1&architecture=amd64&arch=x", "arch"),
            ("version=1&version=2&architecture=amd64", "version"),
            ("", "version"),
        ] {
            match publication(query) {
                Err(SiteError::InvalidParameter { field: f, .. }) => assert_eq!(f, field, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }
}
