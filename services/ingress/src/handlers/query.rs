//! Reading a `GET`'s query parameters (a JSON object over NATS).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::ApiError;

/// A list page's `limit` when none is given, and the largest one may ask for.
const PAGE: u64 = 500;
const MAX_PAGE: u64 = 1000;

/// Longest `wait_seconds` of a long poll.
const MAX_WAIT_SECONDS: u64 = 30;

pub fn required(query: &BTreeMap<String, String>, name: &str) -> Result<String, ApiError> {
    query.get(name).cloned().ok_or_else(|| ApiError::invalid(name, format!("missing field `{name}`")))
}

/// A page's `limit`: 1 to 1000; absent, 500.
pub fn limit(query: &BTreeMap<String, String>) -> Result<u64, ApiError> {
    let Some(raw) = query.get("limit") else { return Ok(PAGE) };
    raw.parse::<u64>()
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n))
        .ok_or_else(|| ApiError::invalid("limit", format!("must be a whole number from 1 to {MAX_PAGE}")))
}

/// One page of `items`, in their order: at most [`limit`] after the item
/// whose id is `after`, if given.
pub fn page<T>(query: &BTreeMap<String, String>, items: Vec<T>, id: impl Fn(&T) -> &str) -> Result<Vec<T>, ApiError> {
    let limit = usize::try_from(limit(query)?).unwrap_or(usize::MAX);
    let start = match query.get("after") {
        None => 0,
        Some(after) => {
            1 + items
                .iter()
                .position(|item| id(item) == after)
                .ok_or_else(|| ApiError::invalid("after", "is not in this list"))?
        }
    };
    Ok(items.into_iter().skip(start).take(limit).collect())
}

/// A long poll's `wait_seconds` (0 to 30; absent: 0).
pub fn wait(query: &BTreeMap<String, String>) -> Result<Duration, ApiError> {
    let Some(w) = query.get("wait_seconds") else { return Ok(Duration::ZERO) };
    let seconds = w.parse::<u64>().ok().filter(|w| *w <= MAX_WAIT_SECONDS).ok_or_else(|| {
        ApiError::invalid("wait_seconds", format!("must be a whole number from 0 to {MAX_WAIT_SECONDS}"))
    })?;
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_page_starts_after_the_item_named_and_holds_at_most_limit() {
        let items = || vec!["a", "b", "c", "d"];
        let page = |pairs: &[(&str, &str)]| page(&query(pairs), items(), |s| s);
        assert_eq!(page(&[]).unwrap(), items());
        assert_eq!(page(&[("limit", "2")]).unwrap(), vec!["a", "b"]);
        assert_eq!(page(&[("limit", "2"), ("after", "b")]).unwrap(), vec!["c", "d"]);
        assert_eq!(page(&[("after", "d")]).unwrap(), Vec::<&str>::new());
        for bad in [&[("after", "z")][..], &[("limit", "0")], &[("limit", "1001")], &[("limit", "x")]] {
            let field = page(bad).unwrap_err().detail.field;
            assert_eq!(field.as_deref(), Some(bad[0].0), "{bad:?}");
        }
    }
}
