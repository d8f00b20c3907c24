//! Each template's variables as a schema (`TextMessageVars`, …), tied to
//! `template` in every body that names one, so a client generated from the
//! document knows what `template_vars` takes for the template it sends.
//!
//! The schemas are written from the catalogue (`novij_templates`) that checks
//! requests, so they cannot drift from it. What they cannot state — the
//! rendered message's length, which depends on all variables together and on
//! escaping — is still a 422 naming the variable to shorten.

use novij_templates::{TemplateSpec, VarKind, VarSpec};
use serde_json::{json, Map, Value};

/// Characters a string variable may not hold: control characters other
/// than tab and newline (as the check in `novij_templates` refuses).
const CONTROL: &str = r"\x00-\x08\x0B-\x1F\x7F-\x9F";
/// The white space it may hold: Unicode's, less those controls (spelled
/// out, as `\s` differs between JSON Schema validators and Rust's `trim`).
const BLANK: &str = r"\t\n \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// A string variable's pattern: blanks, then one character that is neither
/// blank nor control, then anything but controls (no backtracking).
fn string_pattern() -> String {
    format!("^[{BLANK}]*[^{CONTROL}{BLANK}][^{CONTROL}]*$")
}

/// Adds the variables' schemas and ties them to `template` in the send,
/// reminder and broadcast bodies.
pub fn apply(schemas: &mut Map<String, Value>) {
    let catalogue = novij_templates::catalogue();
    for spec in catalogue {
        schemas.insert(component(spec), variables(spec));
    }
    for body in ["SendRequest", "ReminderRequest"] {
        if let Some(schema) = schemas.get_mut(body) {
            schema["oneOf"] = catalogue.iter().map(one_message).collect();
            describe(schema);
        }
    }
    if let Some(schema) = schemas.get_mut("BroadcastRequest") {
        schema["oneOf"] = catalogue.iter().map(broadcast).collect();
        describe(schema);
    }
}

fn component(spec: &TemplateSpec) -> String {
    let camel: String = spec
        .name
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    format!("{camel}Vars")
}

fn reference(spec: &TemplateSpec) -> Value {
    json!({"$ref": format!("#/components/schemas/{}", component(spec))})
}

/// The variables `spec` declares, none of them required: a broadcast's
/// shared variables may leave some to each recipient's.
fn variables(spec: &TemplateSpec) -> Value {
    let properties: Map<String, Value> = spec.variables.iter().map(|v| (v.name.to_string(), variable(v))).collect();
    json!({
        "type": "object",
        "description": format!("`template_vars` of `{}`: {}", spec.name, spec.description),
        "properties": properties,
        "additionalProperties": false,
    })
}

fn variable(var: &VarSpec) -> Value {
    let value = match var.kind {
        VarKind::String { max_chars } => {
            json!({"type": "string", "maxLength": max_chars, "pattern": string_pattern()})
        }
        VarKind::Integer { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        VarKind::Enum { values } => json!({"enum": values}),
    };
    // An optional variable may be sent as null, meaning not given.
    let mut schema = if var.required { value } else { json!({"anyOf": [value, {"type": "null"}]}) };
    schema["description"] = json!(var.description);
    schema
}

fn required(spec: &TemplateSpec) -> Vec<&'static str> {
    spec.variables.iter().filter(|v| v.required).map(|v| v.name).collect()
}

/// A send or reminder of `spec`: its variables, the required ones given.
fn one_message(spec: &TemplateSpec) -> Value {
    let required = required(spec);
    let vars =
        if required.is_empty() { reference(spec) } else { json!({"allOf": [reference(spec)], "required": required}) };
    let mut branch = json!({"properties": {"template": {"const": spec.name}, "template_vars": vars}});
    branch["required"] = if required.is_empty() { json!(["template"]) } else { json!(["template", "template_vars"]) };
    branch
}

/// A broadcast of `spec`: its variables, shared and each recipient's; the
/// required ones must be in one or the other.
fn broadcast(spec: &TemplateSpec) -> Value {
    json!({
        "properties": {
            "template": {"const": spec.name},
            "template_vars": reference(spec),
            "recipients": {"items": {"properties": {"template_vars": reference(spec)}}},
        },
        "required": ["template"],
    })
}

fn describe(schema: &mut Value) {
    schema["properties"]["template_vars"]["description"] =
        json!("The template's variables: `TextMessageVars` for `text_message`, and so on (one schema per template).");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_pattern_takes_exactly_what_the_templates_check_takes() {
        let rule = regex::Regex::new(&string_pattern()).expect("the pattern compiles");
        let taken = |s: &str| {
            let vars = json!({"text": s}).as_object().cloned().unwrap_or_default();
            novij_templates::render("text_message", &vars, Default::default()).is_ok()
        };
        // Every character up to the ideographic space, and past it, alone and among others.
        let chars = (0..=0x3100).chain([0xFEFF, 0x1F600]).filter_map(char::from_u32);
        for c in chars {
            for s in [c.to_string(), format!("a{c}"), format!("{c}a"), format!(" {c} ")] {
                assert_eq!(rule.is_match(&s), taken(&s), "{s:?}");
            }
        }
        assert!(!rule.is_match("") && !taken(""));
    }

    #[test]
    fn every_template_gets_its_variables_and_a_branch_per_body() {
        let mut schemas = Map::new();
        for body in ["SendRequest", "ReminderRequest", "BroadcastRequest"] {
            schemas.insert(body.into(), json!({"properties": {"template_vars": {"type": "object"}}}));
        }
        apply(&mut schemas);
        let text = &schemas["TextMessageVars"];
        assert_eq!(text["properties"]["text"]["maxLength"], json!(4096));
        assert_eq!(text["additionalProperties"], json!(false));
        let send = &schemas["SendRequest"]["oneOf"];
        assert_eq!(send.as_array().map(Vec::len), Some(novij_templates::catalogue().len()));
        assert_eq!(send[0]["properties"]["template"]["const"], json!("text_message"));
        assert_eq!(send[0]["properties"]["template_vars"]["required"], json!(["text"]));
        // test_message takes no variables and needs none.
        let test = &send[3];
        assert_eq!(test["required"], json!(["template"]));
        assert_eq!(schemas["TestMessageVars"]["properties"], json!({}));
        let reminder = &schemas["NrsvReminderVars"]["properties"]["minutes_before"];
        assert_eq!(reminder["anyOf"][1], json!({"type": "null"}));
        assert_eq!(schemas["BroadcastRequest"]["oneOf"][0]["required"], json!(["template"]));
    }
}
