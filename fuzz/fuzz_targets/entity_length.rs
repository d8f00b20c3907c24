//! The length Telegram counts (UTF-16 code units) and the HTML escaping of
//! variables: the count matches the standard library's, and escaping is
//! undone exactly by Telegram's entity parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novij_templates::{escape_html, utf16_len};

fuzz_target!(|text: &str| {
    assert_eq!(utf16_len(text), text.encode_utf16().count());
    let escaped = escape_html(text);
    assert!(!escaped.contains('<') && !escaped.contains('>'));
    let unescaped =
        escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    assert_eq!(unescaped, text);
});
