//! Shapes of request bodies that the handlers' annotations cannot state,
//! written into the generated document, so a body the schema allows is a
//! body the handler takes.

use serde_json::{json, Map, Value};

pub fn apply(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    merge_parts(schemas);
    either_one_or_all(schemas, "RetryRequest", "send_id");
    either_one_or_all(schemas, "InboundRetryRequest", "message_id");
    reminder_request(schemas);
    super::template_vars::apply(schemas);
    if let Some(body) = doc.pointer_mut("/paths/~1api~1v1~1reminders/post/requestBody/content/application~1json/schema")
    {
        *body = json!({"$ref": "#/components/schemas/ReminderRequest"});
    }
}

/// A body read in flattened parts (`body::parse_parts`) is generated as
/// `allOf` its parts, each closed to the others' fields: one object with all
/// their fields is what it takes.
fn merge_parts(schemas: &mut Map<String, Value>) {
    // A part may itself be made of parts: merge until none is left.
    loop {
        let ready = schemas.iter().find_map(|(name, schema)| {
            let parts = schema.get("allOf")?.as_array()?;
            let merged = parts.iter().map(|part| part_of(schemas, part)).collect::<Option<Vec<_>>>()?;
            Some((name.clone(), merged))
        });
        let Some((name, parts)) = ready else { return };
        let mut properties = Map::new();
        let mut required = Vec::new();
        for part in &parts {
            properties.extend(part.get("properties").and_then(Value::as_object).cloned().unwrap_or_default());
            required.extend(part.get("required").and_then(Value::as_array).cloned().unwrap_or_default());
        }
        let closed = parts.iter().any(|p| p.get("additionalProperties") == Some(&Value::Bool(false)));
        let schema = schemas.entry(name).or_insert(Value::Null);
        let description = schema.get("description").cloned();
        *schema = json!({"type": "object", "properties": properties, "required": required});
        if closed {
            schema["additionalProperties"] = Value::Bool(false);
        }
        if let Some(description) = description {
            schema["description"] = description;
        }
    }
}

/// A part of an `allOf` (named or inline), when it is a plain object, not
/// itself made of parts.
fn part_of(schemas: &Map<String, Value>, part: &Value) -> Option<Value> {
    let schema = match part.get("$ref").and_then(Value::as_str) {
        Some(reference) => schemas.get(reference.strip_prefix("#/components/schemas/")?)?,
        None => part,
    };
    (schema.get("allOf").is_none() && schema.get("properties").is_some()).then(|| schema.clone())
}

/// A dead-letter retry names one letter (`id_field`) or `all: true`, not both and not neither.
fn either_one_or_all(schemas: &mut Map<String, Value>, name: &str, id_field: &str) {
    let Some(schema) = schemas.get_mut(name) else { return };
    let description = schema.get("description").cloned();
    *schema = json!({
        "oneOf": [
            {
                "type": "object",
                "properties": {id_field: {"type": "string", "minLength": 1}, "all": {"const": false}},
                "required": [id_field],
                "additionalProperties": false
            },
            {
                "type": "object",
                "properties": {"all": {"const": true}},
                "required": ["all"],
                "additionalProperties": false
            }
        ]
    });
    if let Some(description) = description {
        schema["description"] = description;
    }
}

/// `POST /reminders` takes a send's body and `send_at`, which `POST /send` refuses.
fn reminder_request(schemas: &mut Map<String, Value>) {
    let Some(mut reminder) = schemas.get("SendRequest").cloned() else { return };
    reminder["properties"]["send_at"] = json!({
        "type": "string", "format": "date-time",
        "description": "When to send: RFC 3339 with an offset, from a minute ago to REMINDER_MAX_AHEAD_DAYS ahead."
    });
    if let Some(required) = reminder["required"].as_array_mut() {
        required.push(json!("send_at"));
    }
    reminder["description"] = json!("The body of `POST /reminders`: a send's, and when.");
    schemas.insert("ReminderRequest".into(), reminder);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_merge_into_one_closed_object() {
        let mut doc = json!({"components": {"schemas": {
            "Both": {"allOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]},
            "A": {"allOf": [{"$ref": "#/components/schemas/C"}]},
            "B": {"type": "object", "properties": {"b": {}}, "required": ["b"], "additionalProperties": false},
            "C": {"allOf": [{"properties": {"c": {}}, "required": ["c"]}]}
        }}});
        apply(&mut doc);
        let both = &doc["components"]["schemas"]["Both"];
        assert_eq!(both["required"], json!(["c", "b"]));
        assert_eq!(both["additionalProperties"], json!(false));
        assert!(both["properties"]["c"].is_object() && both["properties"]["b"].is_object());
    }
}
