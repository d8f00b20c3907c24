//! `broadcast watch <id>`: a broadcast's progress as a bar, until it ends.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use super::api::call;

/// Width of the bar, in characters.
const WIDTH: u64 = 40;

pub async fn watch(broadcast_id: String) -> anyhow::Result<()> {
    loop {
        let b = call(&format!("broadcasts.get.{broadcast_id}"), None).await?;
        let line = render(&b);
        print!("\r{line}");
        std::io::stdout().flush()?;
        if finished(&b) {
            println!();
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Nothing more will change: refused, or nothing left pending or queued.
fn finished(b: &Value) -> bool {
    let p = &b["progress"];
    let open = p["pending"].as_u64().unwrap_or(0) + p["queued"].as_u64().unwrap_or(0);
    b["status"] == "refused" || (matches!(b["status"].as_str(), Some("queued" | "cancelled")) && open == 0)
}

fn render(b: &Value) -> String {
    let p = &b["progress"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let sum = |v: &Value| v.as_object().map_or(0, |m| m.values().map(n).sum::<u64>());
    let total = n(&b["total"]).max(1);
    let (sent, failed) = (n(&p["sent"]), sum(&p["failed"]) + n(&p["dead_lettered"]));
    let (cancelled, skipped) = (n(&p["cancelled"]), sum(&p["skipped"]));
    let done = (sent + failed + cancelled + skipped).min(total);
    let filled = (done * WIDTH / total) as usize;
    format!(
        "[{}{}] {done}/{total}  sent {sent}  failed {failed}  skipped {skipped}  cancelled {cancelled}  ({})",
        "#".repeat(filled),
        ".".repeat(WIDTH as usize - filled),
        b["status"].as_str().unwrap_or("?"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bar_counts_what_ended_and_stops_when_nothing_is_open() {
        let going = json!({"status": "queued", "total": 4,
            "progress": {"pending": 0, "queued": 2, "sent": 1, "failed": {"recipient_blocked": 1}, "dead_lettered": 0,
                         "cancelled": 0, "skipped": {}}});
        assert!(render(&going).starts_with("[####################....................] 2/4  sent 1  failed 1"));
        assert!(!finished(&going));
        let done = json!({"status": "cancelled", "total": 4,
            "progress": {"pending": 0, "queued": 0, "sent": 1, "failed": {}, "dead_lettered": 0, "cancelled": 3, "skipped": {}}});
        assert!(finished(&done) && render(&done).contains("4/4"));
        assert!(finished(&json!({"status": "refused", "total": 4, "progress": {"pending": 0}})));
    }
}
