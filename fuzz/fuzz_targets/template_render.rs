//! The template renderer with any template name and variables: a message is
//! rendered or refused naming a field, never a panic; what renders is within
//! Telegram's limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novij_templates::{catalogue, render, utf16_len, RenderContext, MAX_TEXT_CHARS};
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(vars) = serde_json::from_slice::<Map<String, Value>>(rest) else { return };
    let templates = catalogue();
    let name = templates.get(pick as usize % (templates.len() + 1)).map_or("no_such_template", |t| t.name);
    match render(name, &vars, RenderContext::default()) {
        // The text sent counts at least what Telegram shows.
        Ok(rendered) => assert!(rendered.parse_mode.is_some() || utf16_len(&rendered.text) <= MAX_TEXT_CHARS),
        Err(e) => assert!(e.field == "template" || e.field.starts_with("template_vars"), "{}", e.field),
    }
});
