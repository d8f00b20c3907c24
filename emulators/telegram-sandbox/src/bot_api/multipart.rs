//! `multipart/form-data` bodies, read as the Bot API server's HTTP reader
//! (TDLib's `HttpReader`) reads them: a part with a `filename` is a file, any
//! other part a parameter, and malformed bodies get its error texts.

use super::errors::ApiError;

/// Longest boundary, as RFC 1341 defines it.
const MAX_BOUNDARY_LEN: usize = 70;

/// One part of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    /// Present (possibly empty) for files.
    pub file_name: Option<String>,
    /// The part's `Content-Type`; TDLib assumes `application/octet-stream`.
    pub content_type: String,
    pub body: &'a [u8],
}

/// Where `needle` first occurs in `haystack`: candidates are found by their
/// first byte, which keeps uploads of tens of megabytes quick to split.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (first, rest) = needle.split_first()?;
    let mut from = 0;
    loop {
        let start = from + haystack.get(from..)?.iter().position(|b| b == first)?;
        if haystack.get(start + 1..start + needle.len())? == rest {
            return Some(start);
        }
        from = start + 1;
    }
}

/// The `boundary` of a `Content-Type` header.
fn boundary(content_type: &str) -> Result<&str, ApiError> {
    let at = content_type
        .to_ascii_lowercase()
        .find("boundary")
        .ok_or_else(|| ApiError::bad_request("boundary not found"))?;
    let after = &content_type[at + "boundary".len()..];
    let equals = after.find('=').ok_or_else(|| ApiError::bad_request("boundary value not found"))?;
    let value = &after[equals + 1..];
    let value = value.split(';').next().unwrap_or_default();
    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(quoted) if !quoted.is_empty() => quoted,
        _ => value,
    };
    if value.is_empty() || value.len() > MAX_BOUNDARY_LEN {
        return Err(ApiError::bad_request("boundary too big or empty"));
    }
    Ok(value)
}

/// Percent-decodes a `Content-Disposition` value (`+` stays as it is).
fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `name` and `filename` of a `Content-Disposition: form-data; ...` value.
fn disposition(value: &str) -> Result<(Option<String>, Option<String>), ApiError> {
    let mut rest = value
        .strip_prefix("form-data;")
        .ok_or_else(|| ApiError::bad_request("expected form-data content disposition"))?;
    let (mut name, mut file_name) = (None, None);
    loop {
        rest = rest.trim();
        let Some(equals) = rest.find('=') else { break };
        let key = rest[..equals].trim().to_string();
        rest = rest[equals + 1..].trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err(ApiError::bad_request("unclosed quoted string in Content-Disposition header")),
                    Some((at, '"')) => break at + 1,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => {
                            return Err(ApiError::bad_request("wrong escape sequence in Content-Disposition header"))
                        }
                    },
                    Some((_, c)) => value.push(c),
                }
            };
            rest = quoted[end..].trim_start();
            if !rest.is_empty() {
                rest = rest
                    .strip_prefix(';')
                    .ok_or_else(|| ApiError::bad_request("expected ';' in Content-Disposition header"))?;
            }
            value
        } else {
            let (token, after) = rest.split_once(';').unwrap_or((rest, ""));
            rest = after;
            token.trim().to_string()
        };
        match key.as_str() {
            "name" => name = Some(percent_decode(&value)),
            "filename" => file_name = Some(percent_decode(&value)),
            _ => {}
        }
    }
    Ok((name, file_name))
}

/// The headers of one part: its name, file name and content type.
fn part_headers(raw: &[u8]) -> Result<(String, Option<String>, String), ApiError> {
    let text = String::from_utf8_lossy(raw);
    // Folded lines (starting with a space or a tab) continue the header above.
    let mut headers: Vec<String> = Vec::new();
    for line in text.split("\r\n") {
        match headers.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => headers.push(line.to_string()),
        }
    }
    let (mut name, mut file_name, mut content_type) = (None, None, "application/octet-stream".to_string());
    for header in headers.iter().filter(|h| !h.is_empty()) {
        let (key, value) =
            header.split_once(':').ok_or_else(|| ApiError::bad_request("can't parse form data headers"))?;
        match key.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => (name, file_name) = disposition(value.trim())?,
            "content-type" => content_type = value.trim().to_string(),
            _ => {}
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("field name in multipart/form-data not found"))?;
    Ok((name, file_name, content_type))
}

/// The parts of a body sent with this `Content-Type`.
pub fn parse<'a>(content_type: &str, body: &'a [u8]) -> Result<Vec<Part<'a>>, ApiError> {
    let unexpected_end = || ApiError::bad_request("unexpected end of request content");
    let delimiter = [b"\r\n--", boundary(content_type)?.as_bytes()].concat();
    // The first boundary may open the body, without the line break before it.
    let first = find(body, &delimiter[2..]).ok_or_else(unexpected_end)?;
    let mut rest = &body[first + delimiter.len() - 2..];
    let mut parts = Vec::new();
    while !rest.starts_with(b"--") {
        let headers_end = find(rest, b"\r\n\r\n").ok_or_else(unexpected_end)?;
        if headers_end < 2 {
            return Err(ApiError::bad_request("headers in multipart/form-data are empty"));
        }
        let (name, file_name, content_type) = part_headers(&rest[2..headers_end])?;
        rest = &rest[headers_end + 4..];
        let body_end = find(rest, &delimiter).ok_or_else(unexpected_end)?;
        parts.push(Part { name, file_name, content_type, body: &rest[..body_end] });
        rest = &rest[body_end + delimiter.len()..];
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn fields_and_files_with_their_names() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a \\\"b\\\".jpg\"\r\n\
Content-Type: image/jpeg\r\n\r\n\xff\xd8\r\nbinary\r\n--XyZ\r\n\
Content-Disposition: form-data; name=caption\r\n\r\n\r\n--XyZ--\r\n";
        let parts = parse(TYPE, body).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].file_name.as_deref(), parts[0].body),
            ("chat_id", None, &b"42"[..])
        );
        assert_eq!(parts[1].file_name.as_deref(), Some("a \"b\".jpg"));
        assert_eq!(parts[1].content_type, "image/jpeg");
        assert_eq!(parts[1].body, b"\xff\xd8\r\nbinary");
        assert_eq!((parts[2].name.as_str(), parts[2].body), ("caption", &b""[..]));
        // A quoted boundary, a preamble, and percent-encoded names.
        let body =
            b"preamble\r\n--q q\r\nContent-Disposition: form-data; name=\"na%6De\"; filename=\"\"\r\n\r\nx\r\n--q q--";
        let parts = parse("multipart/form-data; boundary=\"q q\"; charset=utf-8", body).unwrap();
        assert_eq!((parts[0].name.as_str(), parts[0].file_name.as_deref()), ("name", Some("")));
    }

    #[test]
    fn malformed_bodies_get_the_readers_errors() {
        let error = |content_type: &str, body: &[u8]| parse(content_type, body).unwrap_err().description;
        assert_eq!(error("multipart/form-data", b""), "Bad Request: boundary not found");
        assert_eq!(error("multipart/form-data; boundary", b""), "Bad Request: boundary value not found");
        assert_eq!(error("multipart/form-data; boundary=", b""), "Bad Request: boundary too big or empty");
        assert_eq!(
            error(TYPE, b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end"),
            "Bad Request: unexpected end of request content"
        );
        assert_eq!(
            error(TYPE, b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--"),
            "Bad Request: expected form-data content disposition"
        );
        assert_eq!(
            error(TYPE, b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--"),
            "Bad Request: field name in multipart/form-data not found"
        );
        assert_eq!(error(TYPE, b"--XyZ\r\n\r\nx\r\n--XyZ--"), "Bad Request: headers in multipart/form-data are empty");
        assert_eq!(
            error(TYPE, b"--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--XyZ--"),
            "Bad Request: unclosed quoted string in Content-Disposition header"
        );
    }
}
