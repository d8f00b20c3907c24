//! Reading JSON request bodies, with errors that name the field at fault.

use serde::de::DeserializeOwned;
use warp::http::StatusCode;

use crate::error::ApiError;

/// Parses `bytes` as `T`; malformed JSON → 400, a missing, unknown or
/// mistyped field → 422 naming it.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    from_value(object(bytes)?)
}

/// The hash that tells a retry from another request under the same
/// idempotency key: over the request as parsed, so the same request
/// formatted differently (spacing, key order, an absent optional field or
/// its `null`) is the same request.
pub fn request_hash<T: serde::Serialize>(keyring: &novij_crypto::Keyring, req: &T) -> Result<String, ApiError> {
    let canonical =
        serde_json::to_value(req).and_then(|v| serde_json::to_vec(&v)).map_err(|e| ApiError::internal(&e))?;
    Ok(novij_runtime::derive::request_hash(keyring, &canonical))
}

/// Parses a body of two parts, `A`'s fields and `B`'s (one flat object, as
/// its documented type flattens them): each part is read on its own, because
/// serde can neither name the field at fault inside a flattened part nor
/// deny unknown fields across one. `B` denies unknown fields.
pub fn parse_parts<A, B>(bytes: &[u8]) -> Result<(A, B), ApiError>
where
    A: DeserializeOwned + serde::Serialize + Default,
    B: DeserializeOwned,
{
    let serde_json::Value::Object(mut rest) = object(bytes)? else { unreachable!("checked to be an object") };
    let a_keys = match serde_json::to_value(A::default()) {
        Ok(serde_json::Value::Object(keys)) => keys,
        _ => return Err(ApiError::internal(&"a body part that is not an object")),
    };
    let a: serde_json::Map<String, serde_json::Value> =
        a_keys.keys().filter_map(|key| rest.remove_entry(key)).collect();
    Ok((from_value(a.into())?, from_value(rest.into())?))
}

fn object(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("request body is not valid JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", "request body must be a JSON object"));
    }
    integral(&mut value);
    Ok(value)
}

/// Writes every whole number as an integer: JSON (and JSON Schema) has one
/// number type, so `30.0` is the integer 30 wherever an integer is asked for.
fn integral(value: &mut serde_json::Value) {
    /// Beyond 2^53 a float no longer holds every integer.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= EXACT) {
                *n = if f < 0.0 { (f as i64).into() } else { (f as u64).into() };
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integral),
        _ => {}
    }
}

fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = match backticked(&inner) {
            // serde reports a missing field at its parent's path.
            Some(name) if inner.starts_with("missing field") => join(&path, name),
            _ => path,
        };
        // A key that is the empty string has no name to give: the body is at fault.
        let field = if field.is_empty() || field == "." { "body".to_string() } else { field };
        ApiError::invalid(&field, inner)
    })
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() || parent == "." {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `ru` or `en`, the languages templates render in.
pub fn check_locale(field: &str, value: &str) -> Result<novij_templates::Locale, ApiError> {
    value.parse().map_err(|e: novij_templates::UnknownLocale| ApiError::invalid(field, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        name: String,
        count: u32,
        inner: Option<Inner>,
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    fn field_of(body: &str) -> (u16, Option<String>) {
        let e = parse::<Req>(body.as_bytes()).unwrap_err();
        (e.status.as_u16(), e.detail.field)
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of("{"), (400, None));
        assert_eq!(field_of("[1]"), (400, None));
        assert_eq!(field_of(r#"{"count":1}"#), (422, Some("name".into())));
        assert_eq!(field_of(r#"{"name":"a","count":"x"}"#), (422, Some("count".into())));
        assert_eq!(field_of(r#"{"name":"a","count":1,"extra":1}"#), (422, Some("extra".into())));
        assert_eq!(field_of(r#"{"name":"a","count":1,"inner":{"flag":1}}"#), (422, Some("inner.flag".into())));
        assert_eq!(field_of(r#"{"name":"a","count":1,"inner":{}}"#), (422, Some("inner.flag".into())));
        // Found by fuzz/ (api_body): a key that is the empty string.
        assert_eq!(field_of(r#"{"":1,"name":"a","count":1}"#), (422, Some("body".into())));
    }

    #[test]
    fn a_whole_float_is_an_integer_and_a_fraction_is_not() {
        let req = parse::<Req>(br#"{"name":"a","count":30.0}"#).expect("30.0 is 30");
        assert_eq!(req.count, 30);
        assert_eq!(field_of(r#"{"name":"a","count":30.5}"#), (422, Some("count".into())));
        assert_eq!(field_of(r#"{"name":"a","count":-1.0}"#), (422, Some("count".into())));
    }
}
