//! The NATS users and what each may publish and subscribe: one user per
//! service, `all` for `serve all`, `admin` for the CLI, `ops` to read the
//! log, and one per project. [`render`] writes them as a nats-server
//! `authorization` block (`novij-telegram nats-auth`).
//!
//! A service may append only the event types it decides (`nt.ev.<aggregate>.*.<event>`),
//! so a stolen service password cannot forge another's decisions; a project
//! may only call the API and read its own feed.

use std::collections::BTreeSet;

use novij_events::feed::project_token;
use novij_events::subjects;
use serde_json::{json, Value};

mod appends;

/// The services, each with a NATS user of its own name.
pub const SERVICES: [&str; 5] = ["ingress", "dispatcher", "scheduler", "connect", "payment-verifier"];
/// `serve all`: every service in one process, so every service's permissions.
pub const ALL: &str = "all";
/// The CLI (migrations, `dlq`, `keys`, `cleanup`, …): everything.
pub const ADMIN: &str = "admin";
/// Operators: read the event log, nothing else.
pub const OPS: &str = "ops";

/// What one user may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    pub publish: BTreeSet<String>,
    pub deny_publish: BTreeSet<String>,
    pub subscribe: BTreeSet<String>,
    /// May answer the requests it receives (publish to their reply subjects).
    pub allow_responses: bool,
}

impl Grant {
    fn publish<S: Into<String>>(mut self, subjects: impl IntoIterator<Item = S>) -> Grant {
        self.publish.extend(subjects.into_iter().map(Into::into));
        self
    }

    fn subscribe<S: Into<String>>(mut self, subjects: impl IntoIterator<Item = S>) -> Grant {
        self.subscribe.extend(subjects.into_iter().map(Into::into));
        self
    }

    fn union(mut self, other: Grant) -> Grant {
        self.publish.extend(other.publish);
        self.deny_publish.extend(other.deny_publish);
        self.subscribe.extend(other.subscribe);
        self.allow_responses |= other.allow_responses;
        self
    }
}

/// The inbox prefix of a user: replies to its requests come there, and it
/// is the only inbox the user may read, so no one reads another's replies.
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX_{}", user.replace(['.', '*', '>', ' '], "_"))
}

/// The NATS user of a project.
pub fn project_user(project_id: &str) -> String {
    format!("project-{}", project_token(project_id))
}

/// The durable consumer a project reads its feed with: named after the
/// project, so no project can read or change another's.
pub fn project_feed_consumer(project_id: &str) -> String {
    project_token(project_id)
}

/// What every service process does: apply the whole topology (every
/// process applies it at start), keep payload keys and leases, follow the
/// log (the projector runs in every process), read uploads, and append the
/// events it decides ([`appends`]).
fn service_base(user: &str) -> Grant {
    Grant {
        deny_publish: [
            // The log and the feeds are never deleted nor purged by a service.
            "$JS.API.STREAM.DELETE.>".to_string(),
            format!("$JS.API.STREAM.PURGE.{}", subjects::EVENTS_STREAM),
            format!("$JS.API.STREAM.MSG.DELETE.{}", subjects::EVENTS_STREAM),
            format!("$JS.API.STREAM.PURGE.{}", novij_events::feed::FEED_STREAM),
        ]
        .into(),
        // Answers to the requests it serves (acks go to `$JS.ACK`: a message
        // may be acked more than once, with progress first).
        allow_responses: true,
        ..Grant::default()
    }
    // `$JS.FC`: flow control of the ordered consumers that read buckets.
    .publish(["$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.payload_keys.>", "$KV.sole_runners.>"])
    .publish(appends::of(user))
    .subscribe([format!("{}.>", inbox_prefix(user))])
}

/// What a service may do, by name ([`SERVICES`]).
pub fn service(name: &str) -> Option<Grant> {
    let base = service_base(name);
    let grant = match name {
        "ingress" => base
            .publish([
                "$O.uploads.>",
                // Signatures already used (ingress `signatures`).
                "$KV.api_signatures.>",
                subjects::RPC_BOT_VERIFY,
                subjects::RPC_BOT_TEST,
                subjects::RPC_BOT_SYNC,
                "nt.tg.update.*",
                "nt.tg.callback.*",
                "nt.feed.>",
                "nt.cmd.>",
            ])
            // The API over NATS, and the micro service's own discovery.
            .subscribe(["nt.api.>", "$SRV.>"]),
        "dispatcher" => base
            .publish(["$KV.dispatcher_members.>", "$KV.dispatcher_leases.>", "$KV.dispatcher_handover.>"])
            .publish(["$KV.polled_bots.>", "nt.dispatch.>", "nt.dlq.send.*", "nt.rpc.dispatcher.member.*.calls"])
            // Long polling stores updates as the webhook does.
            .publish(["nt.tg.update.*", "nt.tg.callback.*"])
            .subscribe(["nt.rpc.dispatcher.>"]),
        "scheduler" => base.publish(["$O.uploads.>", subjects::RPC_BOT_TEST, subjects::RPC_BOT_SYNC]),
        "connect" => base.publish([subjects::RPC_BOT_VERIFY, subjects::RPC_CALLBACK_ANSWER, "nt.dlq.inbound.*"]),
        "payment-verifier" => base,
        _ => return None,
    };
    Some(grant)
}

/// What a user other than a project may do: a service, [`ALL`], [`ADMIN`] or [`OPS`].
pub fn grant(user: &str) -> Option<Grant> {
    match user {
        // One connection for every service: theirs together, on its own inbox.
        ALL => SERVICES.iter().filter_map(|s| service(s)).reduce(Grant::union).map(|g| {
            let inboxes = SERVICES.map(|s| format!("{}.>", inbox_prefix(s)));
            let subscribe = g.subscribe.into_iter().filter(|s| !inboxes.contains(s)).collect();
            Grant { subscribe, ..g }.subscribe([format!("{}.>", inbox_prefix(ALL))])
        }),
        ADMIN => Some(Grant::default().publish([">"]).subscribe([">"])),
        OPS => Some(ops()),
        _ => service(user),
    }
}

/// Operators read the log: live (`nt.ev.>`) or by sequence (direct get,
/// message get), and with consumers of their own. The services' durable
/// consumers are out of reach: reading from them would take their work.
fn ops() -> Grant {
    let events = subjects::EVENTS_STREAM;
    let mut grant = Grant::default()
        .publish([
            "$JS.API.INFO".to_string(),
            format!("$JS.API.STREAM.INFO.{events}"),
            format!("$JS.API.STREAM.MSG.GET.{events}"),
            format!("$JS.API.DIRECT.GET.{events}"),
            format!("$JS.API.DIRECT.GET.{events}.>"),
            format!("$JS.API.CONSUMER.CREATE.{events}"),
            format!("$JS.API.CONSUMER.CREATE.{events}.>"),
            format!("$JS.API.CONSUMER.INFO.{events}.*"),
            format!("$JS.API.CONSUMER.DELETE.{events}.*"),
            format!("$JS.API.CONSUMER.MSG.NEXT.{events}.*"),
            format!("$JS.ACK.{events}.>"),
        ])
        .subscribe(["nt.ev.>".to_string(), format!("{}.>", inbox_prefix(OPS))]);
    for durable in crate::topology::durable_consumers(events) {
        grant.deny_publish.extend([
            format!("$JS.API.CONSUMER.CREATE.{events}.{durable}"),
            format!("$JS.API.CONSUMER.CREATE.{events}.{durable}.>"),
            format!("$JS.API.CONSUMER.DURABLE.CREATE.{events}.{durable}"),
            format!("$JS.API.CONSUMER.DELETE.{events}.{durable}"),
            format!("$JS.API.CONSUMER.MSG.NEXT.{events}.{durable}"),
            format!("$JS.ACK.{events}.{durable}.>"),
        ]);
    }
    grant
}

/// A project calls and discovers the API (its API key still decides what it may do),
/// takes its commands (`nt.cmd.<project>.>`) and reads its own feed: live,
/// or with its durable consumer ([`project_feed_consumer`]) on the stream
/// `FEED`. It may not read the stream's info: that would list every
/// project's subjects.
pub fn project(project_id: &str) -> Grant {
    let feed = novij_events::feed::FEED_STREAM;
    let token = project_token(project_id);
    let consumer = project_feed_consumer(project_id);
    let user = project_user(project_id);
    Grant::default()
        .publish([
            "nt.api.>".to_string(),
            // Discovery of the API's micro service (not its statistics).
            "$SRV.PING".to_string(),
            "$SRV.PING.>".to_string(),
            "$SRV.INFO".to_string(),
            "$SRV.INFO.>".to_string(),
            format!("$JS.API.CONSUMER.CREATE.{feed}.{consumer}.nt.feed.{token}.>"),
            format!("$JS.API.CONSUMER.INFO.{feed}.{consumer}"),
            format!("$JS.API.CONSUMER.DELETE.{feed}.{consumer}"),
            format!("$JS.API.CONSUMER.MSG.NEXT.{feed}.{consumer}"),
            format!("$JS.ACK.{feed}.{consumer}.>"),
        ])
        .subscribe([format!("nt.feed.{token}.>"), format!("nt.cmd.{token}.>"), format!("{}.>", inbox_prefix(&user))])
}

/// One user of the rendered configuration.
pub struct User {
    pub name: String,
    /// The password as the server should check it: a bcrypt hash.
    pub password_hash: String,
    pub grant: Grant,
}

/// The nats-server `authorization` block for `users` (JSON, which the
/// server's configuration format reads).
pub fn render(users: &[User]) -> String {
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut publish = json!({ "allow": u.grant.publish });
            if !u.grant.deny_publish.is_empty() {
                publish["deny"] = json!(u.grant.deny_publish);
            }
            let mut permissions = json!({ "publish": publish, "subscribe": { "allow": u.grant.subscribe } });
            if u.grant.allow_responses {
                permissions["allow_responses"] = json!(true);
            }
            json!({ "user": u.name, "password": u.password_hash, "permissions": permissions })
        })
        .collect();
    let body = serde_json::to_string_pretty(&json!({ "users": users })).unwrap_or_default();
    format!(
        "# The NATS users of novij-telegram, written by `novij-telegram nats-auth`; \
         passwords are bcrypt hashes.\nauthorization: {body}\n"
    )
}

/// The password hash of each user in a configuration `render` wrote: what
/// lets `nats-auth` keep a hash whose password did not change, so writing the
/// file again changes nothing.
pub fn rendered_hashes(text: &str) -> std::collections::BTreeMap<String, String> {
    let body = text.split_once("authorization: ").map(|(_, body)| body).unwrap_or_default();
    let users = serde_json::from_str::<Value>(body).ok().and_then(|v| v.get("users").cloned());
    let users = users.as_ref().and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    users
        .iter()
        .filter_map(|u| Some((u.get("user")?.as_str()?.to_string(), u.get("password")?.as_str()?.to_string())))
        .collect()
}

/// Whether `hash` (bcrypt) is of `password`.
pub fn password_matches(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[derive(Debug, thiserror::Error)]
#[error("hashing a NATS password: {0}")]
pub struct HashError(String);

/// The bcrypt hash nats-server checks a password against (`$2a$`, the
/// variant its own `mkpasswd` writes).
pub fn hash_password(password: &str, cost: u32) -> Result<String, HashError> {
    bcrypt::hash_with_result(password, cost)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
        .map_err(|e| HashError(e.to_string()))
}

/// A fresh random password (244 random bits, hex).
pub fn generate_password() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_a_service_that_may_append_it() {
        let appendable: BTreeSet<String> = SERVICES.iter().flat_map(|s| appends::of(s)).collect();
        for (stem, _) in novij_events::catalogue::event_schemas() {
            // `<aggregate>.<event>.v<version>`
            let mut parts = stem.split('.');
            let (aggregate, event) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            let subject = format!("nt.ev.{aggregate}.*.{event}");
            assert!(appendable.contains(&subject), "no service may append {aggregate}.{event}");
        }
    }

    #[test]
    fn a_service_appends_only_what_it_decides() {
        let ingress = grant("ingress").expect("ingress");
        assert!(ingress.publish.contains("nt.ev.send.*.accepted"));
        assert!(!ingress.publish.iter().any(|s| s.starts_with("nt.ev.tx.") || s == "nt.ev.>" || s == ">"));
        let verifier = grant("payment-verifier").expect("verifier");
        assert!(verifier.publish.contains("nt.ev.tx.*.claimed"));
        assert!(!verifier.publish.contains("nt.ev.send.*.sent"));
        assert!(grant("nobody").is_none());
    }

    #[test]
    fn all_is_every_service_on_one_inbox() {
        let all = grant(ALL).expect("all");
        for service in SERVICES {
            let one = grant(service).expect("service");
            assert!(one.publish.is_subset(&all.publish), "{service}");
            assert!(!all.subscribe.contains(&format!("{}.>", inbox_prefix(service))));
        }
        assert!(all.subscribe.contains("_INBOX_all.>"));
    }

    #[test]
    fn a_project_reaches_its_own_feed_and_the_api_only() {
        let grant = project("p.a");
        assert_eq!(project_user("p.a"), "project-p%2Ea");
        assert!(grant.publish.contains("nt.api.>"));
        assert!(grant.subscribe.contains("nt.feed.p%2Ea.>"));
        assert!(grant.subscribe.contains("_INBOX_project-p%2Ea.>"));
        assert!(!grant.publish.iter().chain(&grant.subscribe).any(|s| s.starts_with("nt.ev") || s.contains("p%2Eb")));
        assert!(!grant.publish.iter().any(|s| s.starts_with("$JS.API.STREAM")));
    }

    #[test]
    fn a_rendered_hash_is_read_back_and_checks_its_password() {
        let hash = hash_password("secret", 4).expect("hash");
        let text = render(&[User { name: "ingress".into(), password_hash: hash.clone(), grant: Grant::default() }]);
        let hashes = rendered_hashes(&text);
        assert_eq!(hashes.get("ingress"), Some(&hash));
        assert!(password_matches("secret", &hashes["ingress"]));
        assert!(!password_matches("other", &hashes["ingress"]));
        assert!(rendered_hashes("not a configuration").is_empty());
    }

    #[test]
    fn ops_may_not_touch_the_services_durable_consumers() {
        let ops = grant(OPS).expect("ops");
        assert!(ops.deny_publish.contains("$JS.API.CONSUMER.MSG.NEXT.EVENTS.dispatcher-router"));
        assert!(ops.deny_publish.contains("$JS.ACK.EVENTS.feed.>"));
        assert!(!ops.publish.iter().any(|s| s.starts_with("nt.")));
    }

    #[test]
    fn the_rendered_block_names_every_user_with_a_bcrypt_hash() {
        let hash = hash_password("secret", 4).expect("hash");
        assert!(hash.starts_with("$2a$04$"), "{hash}");
        assert!(bcrypt::verify("secret", &hash).expect("verify"));
        let users = [User { name: "ingress".into(), password_hash: hash.clone(), grant: grant("ingress").unwrap() }];
        let text = render(&users);
        let body: serde_json::Value =
            serde_json::from_str(text.split_once("authorization: ").expect("block").1).expect("JSON");
        let user = &body["users"][0];
        assert_eq!((user["user"].as_str(), user["password"].as_str()), (Some("ingress"), Some(hash.as_str())));
        assert_eq!(user["permissions"]["allow_responses"], true);
        assert!(user["permissions"]["publish"]["deny"].as_array().is_some_and(|d| !d.is_empty()));
    }
}
