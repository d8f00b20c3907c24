//! Parsers of Telegram's MarkdownV2 and legacy Markdown parse modes, with the
//! Bot API's error wording.

use super::entities::{sort_entities, Entity, FormattedText};

const RESERVED: &[u8] = b"_*[]()~`>#+-=|{}.!";

fn byte_at(bytes: &[u8], i: usize) -> u8 {
    bytes.get(i).copied().unwrap_or(0)
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\0' | 0x0b)
}

fn utf16_units(c: u8) -> usize {
    if c & 0xC0 == 0x80 {
        0
    } else if c >= 0xF0 {
        2
    } else {
        1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bold,
    Italic,
    Underline,
    Strikethrough,
    Spoiler,
    Code,
    Pre,
    PreCode,
    TextUrl,
    CustomEmoji,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bold => "Bold",
            Kind::Italic => "Italic",
            Kind::Underline => "Underline",
            Kind::Strikethrough => "Strikethrough",
            Kind::Spoiler => "Spoiler",
            Kind::Code => "Code",
            Kind::Pre => "Pre",
            Kind::PreCode => "PreCode",
            Kind::TextUrl => "TextUrl",
            Kind::CustomEmoji => "CustomEmoji",
        }
    }
}

struct Open {
    kind: Kind,
    argument: String,
    utf16_start: usize,
    byte_offset: usize,
    out_start: usize,
}

fn reserved_error(c: u8) -> String {
    format!("Character '{}' is reserved and must be escaped with the preceding '\\'", c as char)
}

/// Skips one leading line break of a pre block.
fn skip_leading_newline(bytes: &[u8], i: &mut usize) {
    let c = byte_at(bytes, *i);
    if c == b'\n' || c == b'\r' {
        let next = byte_at(bytes, *i + 1);
        if (next == b'\n' || next == b'\r') && next != c {
            *i += 2;
        } else {
            *i += 1;
        }
    }
}

/// Parses MarkdownV2. `Err` holds the detail after "can't parse entities: ".
pub fn parse_markdown_v2(text: &str) -> Result<FormattedText, String> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let mut utf16 = 0usize;
    let mut open: Vec<Open> = Vec::new();
    let mut entities = Vec::new();
    let mut quote_start: Option<usize> = None;

    let mut i = 0usize;
    while i < n {
        let c = bytes[i];
        let at_line_start = i == 0 || bytes[i - 1] == b'\n';
        if c == b'\\' && (1..=126).contains(&byte_at(bytes, i + 1)) {
            out.push(bytes[i + 1]);
            utf16 += 1;
            i += 2;
            continue;
        }
        let in_code = matches!(open.last().map(|o| o.kind), Some(Kind::Code | Kind::Pre | Kind::PreCode));
        if c == b'>' && at_line_start && !in_code {
            if quote_start.is_none() {
                quote_start = Some(utf16);
            }
            i += 1;
            continue;
        }
        if c == b'\n' && !in_code {
            if let Some(start) = quote_start {
                if byte_at(bytes, i + 1) != b'>' {
                    if utf16 > start {
                        entities.push(Entity::new("blockquote", start, utf16 - start));
                    }
                    quote_start = None;
                }
            }
        }
        let reserved: &[u8] = if in_code { b"`" } else { RESERVED };
        if !reserved.contains(&c) {
            out.push(c);
            utf16 += utf16_units(c);
            i += 1;
            continue;
        }

        let is_end = open.last().is_some_and(|top| match top.kind {
            Kind::Bold => c == b'*',
            Kind::Italic => c == b'_' && byte_at(bytes, i + 1) != b'_',
            Kind::Code => c == b'`',
            Kind::Pre | Kind::PreCode => c == b'`' && byte_at(bytes, i + 1) == b'`' && byte_at(bytes, i + 2) == b'`',
            Kind::TextUrl | Kind::CustomEmoji => c == b']',
            Kind::Underline => c == b'_' && byte_at(bytes, i + 1) == b'_',
            Kind::Strikethrough => c == b'~',
            Kind::Spoiler => c == b'|' && byte_at(bytes, i + 1) == b'|',
        });

        if !is_end {
            let byte_offset = i;
            let mut argument = String::new();
            let kind = match c {
                b'_' if byte_at(bytes, i + 1) == b'_' => {
                    i += 1;
                    Kind::Underline
                }
                b'_' => Kind::Italic,
                b'*' => Kind::Bold,
                b'~' => Kind::Strikethrough,
                b'|' if byte_at(bytes, i + 1) == b'|' => {
                    i += 1;
                    Kind::Spoiler
                }
                b'[' => Kind::TextUrl,
                b'`' if byte_at(bytes, i + 1) == b'`' && byte_at(bytes, i + 2) == b'`' => {
                    i += 3;
                    let mut kind = Kind::Pre;
                    let mut language_end = i;
                    while !is_space(byte_at(bytes, language_end)) && byte_at(bytes, language_end) != b'`' {
                        language_end += 1;
                    }
                    if i != language_end && language_end < n && bytes[language_end] != b'`' {
                        kind = Kind::PreCode;
                        argument = String::from_utf8_lossy(&bytes[i..language_end]).to_string();
                        i = language_end;
                    }
                    skip_leading_newline(bytes, &mut i);
                    open.push(Open { kind, argument, utf16_start: utf16, byte_offset, out_start: out.len() });
                    continue;
                }
                b'`' => Kind::Code,
                b'!' if byte_at(bytes, i + 1) == b'[' => {
                    i += 1;
                    Kind::CustomEmoji
                }
                other => return Err(reserved_error(other)),
            };
            open.push(Open { kind, argument, utf16_start: utf16, byte_offset, out_start: out.len() });
            i += 1;
            continue;
        }

        let Some(top) = open.pop() else {
            return Err(reserved_error(c));
        };
        let mut skip = utf16 == top.utf16_start;
        let mut url = String::new();
        match top.kind {
            Kind::Underline | Kind::Spoiler => i += 1,
            Kind::Pre | Kind::PreCode => i += 2,
            Kind::TextUrl | Kind::CustomEmoji => {
                if byte_at(bytes, i + 1) != b'(' {
                    if top.kind == Kind::CustomEmoji {
                        return Err("Custom emoji entity must contain a tg://emoji URL".into());
                    }
                    url = String::from_utf8_lossy(&out[top.out_start..]).to_string();
                } else {
                    i += 2;
                    let url_begin = i;
                    let mut raw: Vec<u8> = Vec::new();
                    while i < n && bytes[i] != b')' {
                        if bytes[i] == b'\\' && (1..=126).contains(&byte_at(bytes, i + 1)) {
                            raw.push(bytes[i + 1]);
                            i += 2;
                            continue;
                        }
                        raw.push(bytes[i]);
                        i += 1;
                    }
                    if byte_at(bytes, i) != b')' {
                        return Err(format!("Can't find end of a URL at byte offset {url_begin}"));
                    }
                    url = String::from_utf8_lossy(&raw).to_string();
                }
                if top.kind == Kind::TextUrl && reqwest::Url::parse(&url).is_err() {
                    skip = true;
                }
            }
            _ => {}
        }
        if !skip {
            let length = utf16 - top.utf16_start;
            let offset = top.utf16_start;
            let entity = match top.kind {
                Kind::Bold => Entity::new("bold", offset, length),
                Kind::Italic => Entity::new("italic", offset, length),
                Kind::Underline => Entity::new("underline", offset, length),
                Kind::Strikethrough => Entity::new("strikethrough", offset, length),
                Kind::Spoiler => Entity::new("spoiler", offset, length),
                Kind::Code => Entity::new("code", offset, length),
                Kind::Pre => Entity::new("pre", offset, length),
                Kind::PreCode => {
                    let mut pre = Entity::new("pre", offset, length);
                    pre.language = Some(top.argument.clone());
                    pre
                }
                Kind::TextUrl => {
                    let mut link = Entity::new("text_link", offset, length);
                    link.url = Some(url);
                    link
                }
                Kind::CustomEmoji => {
                    let id = url.strip_prefix("tg://emoji?id=").unwrap_or_default();
                    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                        return Err("Custom emoji entity must contain a tg://emoji URL".into());
                    }
                    let mut emoji = Entity::new("custom_emoji", offset, length);
                    emoji.custom_emoji_id = Some(id.to_string());
                    emoji
                }
            };
            entities.push(entity);
        }
        i += 1;
    }
    if let Some(top) = open.last() {
        return Err(format!("Can't find end of {} entity at byte offset {}", top.kind.name(), top.byte_offset));
    }
    if let Some(start) = quote_start {
        if utf16 > start {
            entities.push(Entity::new("blockquote", start, utf16 - start));
        }
    }
    let text = String::from_utf8(out).map_err(|_| "Strings must be encoded in UTF-8".to_string())?;
    sort_entities(&mut entities);
    Ok(FormattedText { text, entities })
}

/// Parses legacy Markdown. `Err` holds the detail after "can't parse entities: ".
pub fn parse_markdown_legacy(text: &str) -> Result<FormattedText, String> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let mut utf16 = 0usize;
    let mut entities = Vec::new();
    let mut i = 0usize;
    while i < n {
        let c = bytes[i];
        if c == b'\\' && matches!(byte_at(bytes, i + 1), b'_' | b'*' | b'`' | b'[') {
            out.push(bytes[i + 1]);
            utf16 += 1;
            i += 2;
            continue;
        }
        if !matches!(c, b'_' | b'*' | b'`' | b'[') {
            out.push(c);
            utf16 += utf16_units(c);
            i += 1;
            continue;
        }
        let begin = i;
        let end_char = if c == b'[' { b']' } else { c };
        i += 1;
        let mut is_pre = false;
        let mut language = String::new();
        if c == b'`' && byte_at(bytes, i) == b'`' && byte_at(bytes, i + 1) == b'`' {
            i += 2;
            is_pre = true;
            let mut language_end = i;
            while !is_space(byte_at(bytes, language_end)) && byte_at(bytes, language_end) != b'`' {
                language_end += 1;
            }
            if i != language_end && language_end < n && bytes[language_end] != b'`' {
                language = String::from_utf8_lossy(&bytes[i..language_end]).to_string();
                i = language_end;
            }
            skip_leading_newline(bytes, &mut i);
        }
        let start = utf16;
        let out_start = out.len();
        while i < n
            && (bytes[i] != end_char || (is_pre && !(byte_at(bytes, i + 1) == b'`' && byte_at(bytes, i + 2) == b'`')))
        {
            out.push(bytes[i]);
            utf16 += utf16_units(bytes[i]);
            i += 1;
        }
        if i >= n {
            return Err(format!("Can't find end of the entity starting at byte offset {begin}"));
        }
        if utf16 != start {
            let length = utf16 - start;
            match c {
                b'_' => entities.push(Entity::new("italic", start, length)),
                b'*' => entities.push(Entity::new("bold", start, length)),
                b'[' => {
                    let url = if byte_at(bytes, i + 1) != b'(' {
                        String::from_utf8_lossy(&out[out_start..]).to_string()
                    } else {
                        i += 2;
                        let url_start = i;
                        while i < n && bytes[i] != b')' {
                            i += 1;
                        }
                        String::from_utf8_lossy(&bytes[url_start..i.min(n)]).to_string()
                    };
                    if reqwest::Url::parse(&url).is_ok() {
                        let mut link = Entity::new("text_link", start, length);
                        link.url = Some(url);
                        entities.push(link);
                    }
                }
                _ if is_pre => {
                    let mut pre = Entity::new("pre", start, length);
                    if !language.is_empty() {
                        pre.language = Some(language.clone());
                    }
                    entities.push(pre);
                }
                _ => entities.push(Entity::new("code", start, length)),
            }
        }
        if is_pre {
            i += 2;
        }
        i += 1;
    }
    let text = String::from_utf8(out).map_err(|_| "Strings must be encoded in UTF-8".to_string())?;
    sort_entities(&mut entities);
    Ok(FormattedText { text, entities })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_v2_parses_and_rejects_unescaped_reserved_characters() {
        let parsed = parse_markdown_v2("*bold* _it_ __u__ ||s|| `c` [l](https://x.org) a\\.b").unwrap();
        assert_eq!(parsed.text, "bold it u s c l a.b");
        let kinds: Vec<&str> = parsed.entities.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["bold", "italic", "underline", "spoiler", "code", "text_link"]);
        assert_eq!(
            parse_markdown_v2("Hello.").unwrap_err(),
            "Character '.' is reserved and must be escaped with the preceding '\\'"
        );
        assert_eq!(parse_markdown_v2("*bold").unwrap_err(), "Can't find end of Bold entity at byte offset 0");
        let pre = parse_markdown_v2("```rust\nfn x() {}\n```").unwrap();
        assert_eq!(pre.text, "fn x() {}\n");
        assert_eq!(pre.entities[0].language.as_deref(), Some("rust"));
        let quote = parse_markdown_v2(">quoted\nplain").unwrap();
        assert_eq!(quote.text, "quoted\nplain");
        assert_eq!(quote.entities[0], Entity::new("blockquote", 0, 6));
    }

    #[test]
    fn legacy_markdown() {
        let parsed = parse_markdown_legacy("*b* _i_ `c` [x](https://x.org) 1.5!").unwrap();
        assert_eq!(parsed.text, "b i c x 1.5!");
        assert_eq!(parsed.entities.len(), 4);
        assert_eq!(
            parse_markdown_legacy("a *b").unwrap_err(),
            "Can't find end of the entity starting at byte offset 2"
        );
    }
}
