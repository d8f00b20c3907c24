//! Where inbound messages may be POSTed, and how often they are tried.

use std::time::Duration;

use ipnet::IpNet;

use crate::Reader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundWebhooks {
    /// `INBOUND_WEBHOOK_ALLOW`: ranges opened despite being inside the network.
    pub allow: Vec<IpNet>,
    /// The wait before each call after the first (the first is at once).
    pub retries: Vec<Duration>,
    pub timeout: Duration,
    /// How long the previous secret still signs after a rotation.
    pub secret_overlap: Duration,
}

pub(crate) fn read(r: &mut Reader<'_>) -> InboundWebhooks {
    let allow = r.string("INBOUND_WEBHOOK_ALLOW");
    let retries = r.string("INBOUND_WEBHOOK_RETRIES");
    InboundWebhooks {
        allow: nets(&allow, r),
        retries: schedule(&retries, r),
        timeout: Duration::from_secs(r.number("INBOUND_WEBHOOK_TIMEOUT_SECONDS")),
        secret_overlap: Duration::from_secs(r.number("INBOUND_SECRET_OVERLAP_SECONDS")),
    }
}

fn nets(raw: &str, r: &mut Reader<'_>) -> Vec<IpNet> {
    let mut out = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match entry.parse::<IpNet>() {
            Ok(net) => out.push(net),
            Err(_) => r.problem("INBOUND_WEBHOOK_ALLOW", format!("`{entry}` is not a CIDR range like 10.0.0.0/8")),
        }
    }
    out
}

fn schedule(raw: &str, r: &mut Reader<'_>) -> Vec<Duration> {
    let mut out = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match duration(entry) {
            Some(d) => out.push(d),
            None => {
                r.problem("INBOUND_WEBHOOK_RETRIES", format!("`{entry}` is not a duration like 500ms, 5s, 5m or 2h"))
            }
        }
    }
    if out.len() > 20 {
        r.problem("INBOUND_WEBHOOK_RETRIES", "at most 20 retries");
    }
    out
}

/// `<n>ms`, `<n>s`, `<n>m` or `<n>h`.
fn duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    let millis = match unit {
        "ms" => n,
        "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::duration;
    use std::time::Duration;

    #[test]
    fn durations_have_units() {
        assert_eq!(duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(duration("10h"), Some(Duration::from_secs(36_000)));
        assert_eq!(duration("5"), None);
        assert_eq!(duration("s"), None);
        assert_eq!(duration("3d"), None);
    }
}
