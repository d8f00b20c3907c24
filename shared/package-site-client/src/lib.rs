//! The package site's wire contract (docs/PACKAGES.md), client side: the
//! channel index as typed values, and the only two URLs a client builds from
//! a site base. `emulators/package-site` serves the same types, so the two
//! cannot drift apart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

/// `GET {base}/channels/{channel}.json`: what a channel publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelIndex {
    pub channel: String,
    pub package: String,
    /// Newest first, by publish order; clients compare Debian versions themselves.
    pub releases: Vec<Release>,
}

/// One published `.deb`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub version: String,
    pub architecture: String,
    /// Relative to `{base}/`, e.g. `pool/novij-telegram_0.2.0-1_amd64.deb`; see [`file_url`].
    pub file: String,
    /// Lowercase hex SHA-256 of the file, as published (the client must check it).
    pub sha256: String,
    /// Length of the file in bytes.
    pub size: u64,
    pub published_at: DateTime<Utc>,
}

/// Why a site URL could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("invalid channel name {0:?}: expected a lowercase letter, then up to 31 of a-z 0-9 -")]
    InvalidChannel(String),
    /// The base is something like `mailto:`, which has no path to extend.
    #[error("the package site base URL cannot have paths below it")]
    NotABase,
    /// The index named a file outside the site or in an unexpected form.
    #[error("refusing the release file {file:?}: {reason}")]
    InvalidFile { file: String, reason: &'static str },
}

/// `^[a-z][a-z0-9-]{0,31}$`: the names a site may give its channels.
pub fn is_valid_channel(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `{base}/channels/{channel}.json`. The base may or may not end in `/`;
/// either way its whole path is kept (a plain `Url::join` would drop its last
/// segment), and its query and fragment are dropped.
pub fn index_url(base: &Url, channel: &str) -> Result<Url, UrlError> {
    if !is_valid_channel(channel) {
        return Err(UrlError::InvalidChannel(channel.to_string()));
    }
    below(base, ["channels", &format!("{channel}.json")])
}

/// `{base}/{release.file}`. The file must be a relative path of plain
/// segments (`A-Z a-z 0-9 . _ + ~ -`, each starting with a letter or digit,
/// no `..` anywhere): an index must not be able to send the client to
/// another host or outside the site.
pub fn file_url(base: &Url, release: &Release) -> Result<Url, UrlError> {
    let file = release.file.as_str();
    let refuse = |reason| Err(UrlError::InvalidFile { file: file.to_string(), reason });
    if file.contains("://") || file.starts_with('/') || file.starts_with('\\') {
        return refuse("it is not relative to the site");
    }
    if file.contains("..") {
        return refuse("it contains `..`");
    }
    if !file.split('/').all(is_plain_segment) {
        return refuse("it must be a relative path of plain segments");
    }
    below(base, file.split('/'))
}

fn is_plain_segment(segment: &str) -> bool {
    segment.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && segment.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '~' | '-'))
}

/// `base` with `segments` appended to its path.
fn below<'s>(base: &Url, segments: impl IntoIterator<Item = &'s str>) -> Result<Url, UrlError> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut().map_err(|()| UrlError::NotABase)?.pop_if_empty().extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("a URL")
    }

    fn release(file: &str) -> Release {
        Release {
            version: "0.2.0-1".into(),
            architecture: "amd64".into(),
            file: file.into(),
            sha256: "00".repeat(32),
            size: 1,
            published_at: "2026-12-05T10:00:00Z".parse().expect("a time"),
        }
    }

    #[test]
    fn channel_names_follow_the_contract() {
        for good in ["stable", "beta", "a", "nightly-2", &format!("a{}", "b".repeat(31))] {
            assert!(is_valid_channel(good), "{good}");
        }
        for bad in ["", "Stable", "1stable", "-x", "a_b", "a.b", "a/b", "é", &format!("a{}", "b".repeat(32))] {
            assert!(!is_valid_channel(bad), "{bad}");
        }
    }

    #[test]
    fn the_index_url_keeps_the_whole_base_path() {
        for base in ["https://pkg.example.com", "https://pkg.example.com/"] {
            assert_eq!(
                index_url(&url(base), "stable").expect("url").as_str(),
                "https://pkg.example.com/channels/stable.json"
            );
        }
        for base in ["https://example.com/site", "https://example.com/site/", "https://example.com/site/?q=1#f"] {
            assert_eq!(
                index_url(&url(base), "beta").expect("url").as_str(),
                "https://example.com/site/channels/beta.json"
            );
        }
        assert_eq!(index_url(&url("https://x.test"), "../up"), Err(UrlError::InvalidChannel("../up".into())));
        assert_eq!(index_url(&url("mailto:a@b.test"), "stable"), Err(UrlError::NotABase));
    }

    #[test]
    fn file_urls_stay_inside_the_site() {
        let base = url("https://example.com/site");
        let file = file_url(&base, &release("pool/novij-telegram_0.2.0-1+b1~rc1_amd64.deb")).expect("url");
        assert_eq!(file.as_str(), "https://example.com/site/pool/novij-telegram_0.2.0-1+b1~rc1_amd64.deb");
        for bad in [
            "https://evil.test/x.deb",
            "//evil.test/x.deb",
            "/pool/x.deb",
            "\\pool\\x.deb",
            "../x.deb",
            "pool/../../x.deb",
            "pool/..",
            "pool/%2e%2e/x.deb",
            "pool/./x.deb",
            "pool//x.deb",
            "pool/x.deb?y",
            "pool/x.deb#y",
            "pool/.hidden",
            "",
            "pool/",
        ] {
            assert!(
                matches!(file_url(&base, &release(bad)), Err(UrlError::InvalidFile { .. })),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn the_index_reads_as_documented() {
        let json = r#"{"channel":"stable","package":"novij-telegram","releases":[
            {"version":"0.2.0-1","architecture":"amd64","file":"pool/novij-telegram_0.2.0-1_amd64.deb",
             "sha256":"0000000000000000000000000000000000000000000000000000000000000000","size":12345,
             "published_at":"2026-12-05T10:00:00Z"}]}"#;
        let index: ChannelIndex = serde_json::from_str(json).expect("an index");
        assert_eq!((index.channel.as_str(), index.package.as_str()), ("stable", "novij-telegram"));
        let mut expected = release("pool/novij-telegram_0.2.0-1_amd64.deb");
        expected.size = 12345;
        assert_eq!(index.releases, vec![expected]);
        let again: ChannelIndex = serde_json::from_value(serde_json::to_value(&index).expect("json")).expect("index");
        assert_eq!(again, index);
    }
}
