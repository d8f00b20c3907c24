//! A webhook body, read as the connect service reads a queued update: any
//! bytes are decoded or refused, and a decoded update's parts are read
//! without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novij_connect::{parse_command, Update};

fuzz_target!(|data: &[u8]| {
    let Ok(update) = serde_json::from_slice::<Update>(data) else { return };
    if let Some(message) = &update.message {
        let _ = message.media();
        let _ = message.chat.kind();
        let _ = message.from.as_ref().map(|u| u.russian());
        if let Some(invoked) = message.text.as_deref().and_then(parse_command) {
            // The name is lowercase and never empty; the arguments are trimmed.
            assert!(!invoked.name.is_empty());
            assert_eq!(invoked.name, invoked.name.to_lowercase());
            assert_eq!(invoked.args, invoked.args.trim());
        }
    }
    if let Some(query) = &update.callback_query {
        let _ = query.button_label();
    }
});
