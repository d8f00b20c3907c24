//! `queue-status [--json]`: what waits where, as `GET /ops/queues` tells it
//! (over NATS, with the admin key).

use super::api::call;

pub async fn status(json: bool) -> anyhow::Result<()> {
    let q = call("ops.queues", None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&q)?);
        return Ok(());
    }
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let waiting = &q["sends_waiting"];
    println!("sends waiting: {} interactive, {} bulk", n(&waiting["interactive"]), n(&waiting["bulk"]));
    println!("scheduled reminders: {}", n(&q["scheduled_reminders"]));
    let letters = &q["dead_letters"];
    println!("dead letters: {} sends, {} inbound messages", n(&letters["send"]), n(&letters["inbound"]));
    let p = &q["projector"];
    println!("projections: at {} of {} (lag {})", n(&p["checkpoint"]), n(&p["log"]), n(&p["lag"]));
    println!("{:<16} {:>12} {:>14}", "stream", "messages", "last sequence");
    for s in q["streams"].as_array().into_iter().flatten() {
        println!(
            "{:<16} {:>12} {:>14}",
            s["stream"].as_str().unwrap_or("?"),
            n(&s["messages"]),
            n(&s["last_sequence"])
        );
    }
    println!("{:<16} {:<40} {:>9} {:>9} {:>11}", "stream", "consumer", "pending", "in flight", "redelivered");
    for c in q["consumers"].as_array().into_iter().flatten() {
        let busy = n(&c["pending"]) + n(&c["in_flight"]) + n(&c["redelivered"]) > 0;
        if busy {
            println!(
                "{:<16} {:<40} {:>9} {:>9} {:>11}",
                c["stream"].as_str().unwrap_or("?"),
                c["consumer"].as_str().unwrap_or("?"),
                n(&c["pending"]),
                n(&c["in_flight"]),
                n(&c["redelivered"])
            );
        }
    }
    Ok(())
}
