//! Strict parser of Telegram's HTML parse mode, reporting errors with the
//! Bot API's wording and byte offsets.

use super::entities::{sort_entities, utf16_len, Entity, FormattedText};

const SUPPORTED_TAGS: [&str; 16] = [
    "a",
    "b",
    "strong",
    "i",
    "em",
    "s",
    "strike",
    "del",
    "u",
    "ins",
    "tg-spoiler",
    "tg-emoji",
    "span",
    "pre",
    "code",
    "blockquote",
];

struct OpenTag {
    tag: String,
    argument: String,
    utf16_start: usize,
    byte_start: usize,
}

/// Telegram's notion of whitespace inside tags (NUL counts, as in a C string).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\0' | 0x0b)
}

fn byte_at(bytes: &[u8], i: usize) -> u8 {
    bytes.get(i).copied().unwrap_or(0)
}

/// Decodes `&lt;`, `&gt;`, `&amp;`, `&quot;` and numeric references at `pos`;
/// the trailing `;` is optional, as in Telegram. Returns the character and the
/// position after it.
fn decode_entity(bytes: &[u8], pos: usize) -> Option<(char, usize)> {
    if byte_at(bytes, pos) != b'&' {
        return None;
    }
    let mut end = pos + 1;
    let code: u32;
    if byte_at(bytes, end) == b'#' {
        end += 1;
        let mut value: u32 = 0;
        let hex = matches!(byte_at(bytes, end), b'x' | b'X');
        if hex {
            end += 1;
        }
        let digits_start = end;
        loop {
            let c = byte_at(bytes, end);
            let digit = if hex { (c as char).to_digit(16) } else { (c as char).to_digit(10) };
            let Some(digit) = digit else { break };
            value = value * if hex { 16 } else { 10 } + digit;
            if value >= 0x10ffff {
                return None;
            }
            end += 1;
        }
        if end == digits_start || value == 0 {
            return None;
        }
        code = value;
    } else {
        while byte_at(bytes, end).is_ascii_alphabetic() {
            end += 1;
        }
        code = match &bytes[pos + 1..end] {
            b"lt" => '<' as u32,
            b"gt" => '>' as u32,
            b"amp" => '&' as u32,
            b"quot" => '"' as u32,
            _ => return None,
        };
    }
    let ch = char::from_u32(code)?;
    if byte_at(bytes, end) == b';' {
        end += 1;
    }
    Some((ch, end))
}

/// Parses `text` in HTML parse mode. `Err` holds the detail that follows
/// "Bad Request: can't parse entities: ".
pub fn parse_html(text: &str) -> Result<FormattedText, String> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let mut utf16_offset = 0usize;
    let mut open: Vec<OpenTag> = Vec::new();
    let mut entities: Vec<Entity> = Vec::new();

    let mut i = 0usize;
    while i < n {
        let c = bytes[i];
        if c == b'&' {
            match decode_entity(bytes, i) {
                Some((ch, next)) => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    utf16_offset += ch.len_utf16();
                    i = next;
                    continue;
                }
                None => return Err(format!("Unescaped \"&\" at byte offset {i}; use \"&amp;\"")),
            }
        }
        if c != b'<' {
            out.push(c);
            if c & 0xC0 != 0x80 {
                utf16_offset += if c >= 0xF0 { 2 } else { 1 };
            }
            i += 1;
            continue;
        }

        let begin = i;
        i += 1;
        if byte_at(bytes, i) != b'/' {
            while !is_space(byte_at(bytes, i)) && byte_at(bytes, i) != b'>' {
                i += 1;
            }
            if i >= n {
                return Err(format!("Unclosed start tag at byte offset {begin}"));
            }
            let tag = String::from_utf8_lossy(&bytes[begin + 1..i]).to_lowercase();
            if !SUPPORTED_TAGS.contains(&tag.as_str()) {
                return Err(format!("Unsupported start tag \"{tag}\" at byte offset {begin}"));
            }
            let mut argument = String::new();
            while byte_at(bytes, i) != b'>' {
                while i < n && is_space(bytes[i]) {
                    i += 1;
                }
                if i >= n {
                    return Err(format!("Unclosed start tag at byte offset {begin}"));
                }
                if bytes[i] == b'>' {
                    break;
                }
                let attribute_begin = i;
                while !is_space(byte_at(bytes, i)) && byte_at(bytes, i) != b'=' && byte_at(bytes, i) != b'>' {
                    i += 1;
                }
                let attribute = String::from_utf8_lossy(&bytes[attribute_begin..i]).to_string();
                if attribute.is_empty() {
                    return Err(format!("Empty attribute name in the tag \"{tag}\" at byte offset {begin}"));
                }
                while i < n && is_space(bytes[i]) {
                    i += 1;
                }
                if byte_at(bytes, i) != b'=' {
                    if tag == "blockquote" && attribute == "expandable" {
                        argument = "1".into();
                        continue;
                    }
                    return Err(format!(
                        "Expected equal sign in declaration of an attribute of the tag \"{tag}\" at byte offset {begin}"
                    ));
                }
                i += 1;
                while i < n && is_space(bytes[i]) {
                    i += 1;
                }
                if i >= n {
                    return Err(format!("Unclosed start tag \"{tag}\" at byte offset {begin}"));
                }
                let mut value: Vec<u8> = Vec::new();
                if bytes[i] != b'\'' && bytes[i] != b'"' {
                    let token_begin = i;
                    while byte_at(bytes, i).is_ascii_alphanumeric()
                        || byte_at(bytes, i) == b'.'
                        || byte_at(bytes, i) == b'-'
                    {
                        i += 1;
                    }
                    value.extend(bytes[token_begin..i].iter().map(|b| b.to_ascii_lowercase()));
                    if !is_space(byte_at(bytes, i)) && byte_at(bytes, i) != b'>' {
                        return Err(format!("Unexpected end of name token at byte offset {token_begin}"));
                    }
                } else {
                    let quote = bytes[i];
                    i += 1;
                    while i < n && bytes[i] != quote {
                        if let Some((ch, next)) = decode_entity(bytes, i) {
                            let mut buf = [0u8; 4];
                            value.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            i = next;
                            continue;
                        }
                        value.push(bytes[i]);
                        i += 1;
                    }
                    if byte_at(bytes, i) == quote {
                        i += 1;
                    }
                }
                if i >= n {
                    return Err(format!("Unclosed start tag at byte offset {begin}"));
                }
                let value = String::from_utf8_lossy(&value).to_string();
                match (tag.as_str(), attribute.as_str()) {
                    ("a", "href") => argument = value,
                    ("code", "class") if value.starts_with("language-") => {
                        argument = value["language-".len()..].to_string()
                    }
                    ("span", "class") if value.starts_with("tg-") => argument = value["tg-".len()..].to_string(),
                    ("tg-emoji", "emoji-id") => argument = value,
                    ("blockquote", "expandable") => argument = "1".into(),
                    _ => {}
                }
            }
            if tag == "span" && argument != "spoiler" {
                return Err(format!("Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}"));
            }
            open.push(OpenTag { tag, argument, utf16_start: utf16_offset, byte_start: out.len() });
            i += 1;
        } else {
            if open.is_empty() {
                return Err(format!("Unexpected end tag at byte offset {begin}"));
            }
            while !is_space(byte_at(bytes, i)) && byte_at(bytes, i) != b'>' {
                i += 1;
            }
            let end_tag = String::from_utf8_lossy(&bytes[(begin + 2).min(i)..i]).to_string();
            while i < n && is_space(bytes[i]) {
                i += 1;
            }
            if byte_at(bytes, i) != b'>' {
                return Err(format!("Unclosed end tag at byte offset {begin}"));
            }
            let Some(tag) = open.pop() else {
                return Err(format!("Unexpected end tag at byte offset {begin}"));
            };
            if !end_tag.is_empty() && end_tag != tag.tag {
                return Err(format!(
                    "Unmatched end tag at byte offset {begin}, expected \"</{}>\", found \"</{end_tag}>\"",
                    tag.tag
                ));
            }
            close_entity(&tag, utf16_offset, &out, &mut entities)?;
            i += 1;
        }
    }
    if let Some(tag) = open.last() {
        return Err(format!("Can't find end tag corresponding to start tag \"{}\"", tag.tag));
    }
    let text = String::from_utf8(out).map_err(|_| "Strings must be encoded in UTF-8".to_string())?;
    sort_entities(&mut entities);
    Ok(FormattedText { text, entities })
}

fn close_entity(tag: &OpenTag, utf16_end: usize, out: &[u8], entities: &mut Vec<Entity>) -> Result<(), String> {
    let length = utf16_end - tag.utf16_start;
    if length == 0 {
        return Ok(());
    }
    let offset = tag.utf16_start;
    let entity = match tag.tag.as_str() {
        "b" | "strong" => Entity::new("bold", offset, length),
        "i" | "em" => Entity::new("italic", offset, length),
        "s" | "strike" | "del" => Entity::new("strikethrough", offset, length),
        "u" | "ins" => Entity::new("underline", offset, length),
        "tg-spoiler" | "span" => Entity::new("spoiler", offset, length),
        "blockquote" if tag.argument == "1" => Entity::new("expandable_blockquote", offset, length),
        "blockquote" => Entity::new("blockquote", offset, length),
        "a" => {
            let inner = String::from_utf8_lossy(&out[tag.byte_start..]).to_string();
            if tag.argument.is_empty() {
                if inner.starts_with("http://") || inner.starts_with("https://") {
                    Entity::new("url", offset, length)
                } else {
                    return Ok(());
                }
            } else {
                let mut link = Entity::new("text_link", offset, length);
                link.url = Some(tag.argument.clone());
                link
            }
        }
        "tg-emoji" => {
            if tag.argument.is_empty() || !tag.argument.bytes().all(|b| b.is_ascii_digit()) {
                return Err("Invalid custom emoji identifier specified".into());
            }
            let mut emoji = Entity::new("custom_emoji", offset, length);
            emoji.custom_emoji_id = Some(tag.argument.clone());
            emoji
        }
        "code" => {
            let mut code = Entity::new("code", offset, length);
            if !tag.argument.is_empty() {
                code.language = Some(tag.argument.clone());
            }
            code
        }
        "pre" => {
            let mut pre = Entity::new("pre", offset, length);
            // <pre><code class="language-x">..</code></pre> becomes one pre entity.
            if let Some(last) = entities.last() {
                if last.kind == "code" && last.offset == offset && last.length == length {
                    pre.language = last.language.clone();
                    entities.pop();
                }
            }
            pre
        }
        _ => return Ok(()),
    };
    entities.push(entity);
    Ok(())
}

/// Length of the parsed text in UTF-16 code units.
pub fn parsed_len(formatted: &FormattedText) -> usize {
    utf16_len(&formatted.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_html(text).unwrap_err()
    }

    #[test]
    fn parses_supported_tags_with_utf16_offsets() {
        let parsed = parse_html("😀 <b>bold</b> <a href=\"https://x.org/?a=1&amp;b=2\">link</a> &lt;3").unwrap();
        assert_eq!(parsed.text, "😀 bold link <3");
        assert_eq!(parsed.entities[0], Entity::new("bold", 3, 4));
        assert_eq!(parsed.entities[1].kind, "text_link");
        assert_eq!(parsed.entities[1].offset, 8);
        assert_eq!(parsed.entities[1].url.as_deref(), Some("https://x.org/?a=1&b=2"));
    }

    #[test]
    fn pre_with_language_and_spoilers_and_blockquotes() {
        let parsed = parse_html(
            "<pre><code class=\"language-rust\">fn</code></pre><span class=\"tg-spoiler\">s</span><blockquote expandable>q</blockquote>",
        )
        .unwrap();
        assert_eq!(parsed.text, "fnsq");
        assert_eq!(parsed.entities[0].kind, "pre");
        assert_eq!(parsed.entities[0].language.as_deref(), Some("rust"));
        assert_eq!(parsed.entities[1].kind, "spoiler");
        assert_eq!(parsed.entities[2].kind, "expandable_blockquote");
    }

    #[test]
    fn reports_errors_with_telegram_wording() {
        assert_eq!(err("<foo>x</foo>"), "Unsupported start tag \"foo\" at byte offset 0");
        assert_eq!(err("<b>x"), "Can't find end tag corresponding to start tag \"b\"");
        assert_eq!(err("a < b"), "Unsupported start tag \"\" at byte offset 2");
        assert_eq!(err("x</b>"), "Unexpected end tag at byte offset 1");
        assert_eq!(err("<b>x</i>"), "Unmatched end tag at byte offset 4, expected \"</b>\", found \"</i>\"");
        assert_eq!(err("<br>"), "Unsupported start tag \"br\" at byte offset 0");
        assert_eq!(err("x <b"), "Unclosed start tag at byte offset 2");
        assert_eq!(err("<span>x</span>"), "Tag \"span\" must have class \"tg-spoiler\" at byte offset 0");
        assert_eq!(err("AT&T"), "Unescaped \"&\" at byte offset 2; use \"&amp;\"");
    }

    #[test]
    fn numeric_entities_decode() {
        assert_eq!(parse_html("&#65;&#x42;&quot;").unwrap().text, "AB\"");
    }
}
