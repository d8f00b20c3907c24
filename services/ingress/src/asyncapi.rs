//! The AsyncAPI 3 document of the NATS side: one request/reply operation per
//! API operation (payloads from the same Rust types as the OpenAPI document)
//! and the project feed (from `novij_events::feed`). Generated into
//! `schemas/asyncapi.json`; `schemas --check` fails when it is stale.

use serde_json::{json, Map, Value};

use crate::api::{nats, operations, Operation};

const SCHEMAS: &str = "#/components/schemas/";

/// The JSON body schema of a request or of the first 2xx answer, as OpenAPI has it.
fn body_schema(openapi: &Value, op: &Operation, request: bool) -> Value {
    let wanted: Vec<&str> = op.path.split('/').collect();
    let item = openapi["paths"].as_object().and_then(|paths| {
        paths.iter().find_map(|(path, item)| {
            let segments: Vec<&str> = path.trim_start_matches("/api/v1/").split('/').collect();
            let same = segments.len() == wanted.len()
                && segments.iter().zip(&wanted).all(|(a, b)| a == b || (a.starts_with('{') && b.starts_with('{')));
            same.then_some(item)
        })
    });
    let operation = item.map(|i| &i[op.method.as_str().to_ascii_lowercase()]).unwrap_or(&Value::Null);
    let content = if request {
        &operation["requestBody"]["content"]
    } else {
        operation["responses"]
            .as_object()
            .and_then(|r| r.iter().find(|(status, _)| status.starts_with('2')).map(|(_, resp)| &resp["content"]))
            .unwrap_or(&Value::Null)
    };
    match &content["application/json"]["schema"] {
        Value::Null => json!({"description": "No body: the payload is empty."}),
        schema => schema.clone(),
    }
}

/// A schemars schema whose `$defs` move into the document's components.
fn hoist(schema: Value, components: &mut Map<String, Value>) -> Value {
    let text = serde_json::to_string(&schema).unwrap_or_default().replace("#/$defs/", SCHEMAS);
    let mut schema: Value = serde_json::from_str(&text).unwrap_or_default();
    if let Some(defs) = schema.as_object_mut().and_then(|o| o.remove("$defs")) {
        components.extend(defs.as_object().cloned().unwrap_or_default());
    }
    if let Some(o) = schema.as_object_mut() {
        o.remove("$schema");
    }
    schema
}

fn reply_headers() -> Value {
    json!({
        "type": "object",
        "properties": {
            "Novij-Status": {"type": "string", "description": "The REST status of the answer, e.g. 202."},
            "Nats-Service-Error": {"type": "string", "description": "On a failure: the error code, e.g. validation_failed."},
            "Nats-Service-Error-Code": {"type": "string", "description": "On a failure: the REST status."},
        },
        "required": ["Novij-Status"],
    })
}

fn request_headers() -> Value {
    json!({
        "type": "object",
        "properties": {
            "Authorization": {"type": "string", "description": "Bearer <API key> (or X-Api-Key)."},
            "X-Request-Id": {"type": "string", "description": "The correlation id of the events this request appends."},
            "traceparent": {"type": "string", "description": "W3C trace context, continued by the events."},
        },
    })
}

pub fn document() -> Value {
    let openapi = serde_json::to_value(crate::openapi::document()).unwrap_or_default();
    let mut schemas = openapi["components"]["schemas"].as_object().cloned().unwrap_or_default();
    let mut channels = Map::new();
    let mut operations_out = Map::new();
    let mut messages = Map::new();
    for op in operations() {
        let name = op.name;
        let mut address = nats::subject(&op);
        let mut channel = json!({});
        if op.has_param() {
            address = address.trim_end_matches('*').to_string() + "{id}";
            channel["parameters"] = json!({"id": {"description": "The id in the REST path."}});
        }
        messages.insert(
            format!("{name}.request"),
            json!({"name": format!("{name}.request"), "headers": request_headers(), "payload": body_schema(&openapi, &op, true)}),
        );
        messages.insert(
            format!("{name}.reply"),
            json!({
                "name": format!("{name}.reply"),
                "headers": reply_headers(),
                "payload": {"oneOf": [body_schema(&openapi, &op, false), {"$ref": format!("{SCHEMAS}ErrorBody")}]},
            }),
        );
        channel["address"] = json!(address);
        channel["messages"] = json!({
            "request": {"$ref": format!("#/components/messages/{name}.request")},
            "reply": {"$ref": format!("#/components/messages/{name}.reply")},
        });
        channels.insert(name.to_string(), channel);
        operations_out.insert(
            name.to_string(),
            json!({
                "action": "receive",
                "summary": format!("{} /api/v1/{}", op.method, op.path),
                "channel": {"$ref": format!("#/channels/{name}")},
                "messages": [{"$ref": format!("#/channels/{name}/messages/request")}],
                "reply": {
                    "channel": {"$ref": format!("#/channels/{name}")},
                    "messages": [{"$ref": format!("#/channels/{name}/messages/reply")}],
                },
            }),
        );
    }
    let feed = serde_json::to_value(schemars::schema_for!(novij_events::feed::FeedMessage)).unwrap_or_default();
    let feed = hoist(feed, &mut schemas);
    messages.insert("feed".into(), json!({"name": "feed", "payload": feed}));
    channels.insert(
        "feed".into(),
        json!({
            "address": "nt.feed.{project}.{aggregate}.{event}",
            "description": "Stream FEED. A project's public events, without sealed fields; `.` in a project id is written %2E.",
            "parameters": {
                "project": {"description": "The project id as one subject token."},
                "aggregate": {"enum": ["send", "recipient", "integration", "incident"]},
                "event": {"description": "The event name, e.g. sent."},
            },
            "messages": {"feed": {"$ref": "#/components/messages/feed"}},
        }),
    );
    operations_out.insert(
        "feed".into(),
        json!({
            "action": "send",
            "channel": {"$ref": "#/channels/feed"},
            "messages": [{"$ref": "#/channels/feed/messages/feed"}],
        }),
    );
    let command =
        serde_json::to_value(schemars::schema_for!(novij_events::commands::ExecutorCommand)).unwrap_or_default();
    let command = hoist(command, &mut schemas);
    messages.insert("command".into(), json!({"name": "command", "payload": command}));
    channels.insert(
        "command_queue".into(),
        json!({
            "address": "nt.cmd.{project}.{integration}.{executor}",
            "description": "Core NATS, not stored. Each command a user runs, for its executor to take by subscribing in a \
                            queue group; then ack it (commands.ack) like a polled one. Missed ones stay in commands.poll.",
            "parameters": {
                "project": {"description": "The project id as one subject token."},
                "integration": {"description": "The integration id."},
                "executor": {"description": "The command's executor_key from the manifest."},
            },
            "messages": {"command": {"$ref": "#/components/messages/command"}},
        }),
    );
    operations_out.insert(
        "command_queue".into(),
        json!({
            "action": "send",
            "channel": {"$ref": "#/channels/command_queue"},
            "messages": [{"$ref": "#/channels/command_queue/messages/command"}],
        }),
    );
    json!({
        "asyncapi": "3.1.0",
        "info": {
            "title": "novij-telegram over NATS",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "The NATS micro service `{}` (discoverable with $SRV.PING|INFO|STATS) serves every REST operation as \
                 request/reply; projects follow their feed on the FEED stream, and executors may take their \
                 commands from their work-queue subjects.",
                nats::SERVICE
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations_out,
        "components": {"schemas": schemas, "messages": messages},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r.clone());
                }
                o.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_every_operation_has_a_channel() {
        let doc = document();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.len() > 50, "{}", all.len());
        for r in all {
            let pointer = r.strip_prefix('#').expect("local reference").replace("~1", "/");
            assert!(doc.pointer(&pointer).is_some(), "{r} does not resolve");
        }
        for op in operations() {
            let channel = &doc["channels"][op.name];
            assert!(channel["address"].as_str().is_some_and(|a| a.starts_with("nt.api.v1.")), "{}", op.name);
            let request = &doc["components"]["messages"][format!("{}.request", op.name)]["payload"];
            assert!(request.is_object(), "{}", op.name);
        }
        assert_eq!(doc["channels"]["feed"]["address"], "nt.feed.{project}.{aggregate}.{event}");
    }
}
