//! Reading a request off the wire: the body, within its size and time limits, its
//! content type, the query string, and the two merged into one object of parameters.
//! Most routes merge query and body (the body wins on a clash); `update` reads the body
//! only.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, header};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::params::{Params, single_issue_message, type_name};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Where a route reads its parameters from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    QueryAndBody,
    BodyOnly,
}

/// Reads the parameters of a request: query string (unless `BodyOnly`), then the JSON body,
/// which must arrive within `body_timeout`.
pub async fn read(
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    source: Source,
    body_timeout: Duration,
) -> Result<Params, ApiError> {
    let bytes = tokio::time::timeout(body_timeout, axum::body::to_bytes(body, MAX_BODY_BYTES))
        .await
        .map_err(|_| ApiError::RequestTimeout {
            limit: body_timeout,
        })?
        .map_err(|_| ApiError::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        })?;
    let carries_body = method != Method::GET && !bytes.iter().all(u8::is_ascii_whitespace);
    if carries_body && !is_json(headers) {
        return Err(ApiError::InvalidContentType);
    }
    let body = carries_body.then_some(&bytes[..]);
    merge(query, body, source).map(Params::from_map)
}

/// Merges the query string (unless `BodyOnly`) and a JSON object body; the body wins.
pub fn merge(
    query: Option<&str>,
    body: Option<&[u8]>,
    source: Source,
) -> Result<Map<String, Value>, ApiError> {
    let mut values = match (source, query) {
        (Source::QueryAndBody, Some(query)) => parse_query(query),
        _ => Map::new(),
    };
    if let Some(bytes) = body {
        values.extend(parse_body(bytes)?);
    }
    Ok(values)
}

/// Parses a JSON body, which must be an object.
fn parse_body(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let parsed: Value = serde_json::from_slice(bytes).map_err(|error| {
        single_issue_message(
            format!("Invalid JSON body: {error}"),
            "_body",
            "Invalid JSON",
        )
    })?;
    match parsed {
        Value::Object(body) => Ok(body),
        other => {
            let message = format!("Expected object, received {}", type_name(&other));
            Err(single_issue_message(message.clone(), "_body", &message))
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || (mime.len() > 5 && mime[mime.len() - 5..].eq_ignore_ascii_case("+json"))
        })
}

/// Decodes a query string. A repeated key or `key[]` makes an array; other values are
/// strings.
pub fn parse_query(query: &str) -> Map<String, Value> {
    let mut values = Map::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let (key, bracketed) = match key.strip_suffix("[]") {
            Some(stripped) => (stripped.to_owned(), true),
            None => (key.into_owned(), false),
        };
        let value = Value::String(value.into_owned());
        match values.get_mut(&key) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None if bracketed => {
                values.insert(key, Value::Array(vec![value]));
            }
            None => {
                values.insert(key, value);
            }
        }
    }
    values
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn query_of(pairs: &[(String, String)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
        query.finish()
    }

    proptest! {
        #[test]
        fn a_query_of_distinct_keys_decodes_to_its_pairs(
            pairs in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,20}", 0..8)
        ) {
            let pairs: Vec<(String, String)> = pairs.into_iter().collect();
            let decoded = parse_query(&query_of(&pairs));
            prop_assert_eq!(decoded.len(), pairs.len());
            for (key, value) in &pairs {
                prop_assert_eq!(&decoded[key], &Value::String(value.clone()));
            }
        }

        #[test]
        fn a_repeated_key_decodes_to_an_array_in_order(
            values in proptest::collection::vec("\\PC{0,10}", 2..6),
            bracketed in any::<bool>(),
        ) {
            let key = if bracketed { "ids[]" } else { "ids" };
            let pairs: Vec<(String, String)> =
                values.iter().map(|value| (key.to_owned(), value.clone())).collect();
            let decoded = parse_query(&query_of(&pairs));
            let expected: Vec<Value> = values.into_iter().map(Value::String).collect();
            prop_assert_eq!(&decoded["ids"], &Value::Array(expected));
        }

        #[test]
        fn any_query_string_decodes_without_panicking(query in "\\PC{0,80}|[a-z=&%\\[\\]0-9+]{0,60}") {
            let _ = parse_query(&query);
        }

        #[test]
        fn the_body_wins_over_the_query_and_update_ignores_the_query(
            query in proptest::collection::btree_map("[a-d]", "[a-z]{0,5}", 0..4),
            body in proptest::collection::btree_map("[a-d]", any::<i32>(), 0..4),
        ) {
            let query_text = query_of(&query.clone().into_iter().collect::<Vec<_>>());
            let body_bytes = serde_json::to_vec(&body).unwrap();
            let merged = merge(Some(&query_text), Some(&body_bytes), Source::QueryAndBody).unwrap();
            for key in query.keys().chain(body.keys()) {
                let expected = match body.get(key) {
                    Some(number) => json!(number),
                    None => json!(query[key]),
                };
                prop_assert_eq!(&merged[key], &expected);
            }
            prop_assert_eq!(merged.len(), query.keys().chain(body.keys()).collect::<std::collections::BTreeSet<_>>().len());
            let body_only = merge(Some(&query_text), Some(&body_bytes), Source::BodyOnly).unwrap();
            prop_assert_eq!(body_only.len(), body.len());
        }

        #[test]
        fn any_body_is_an_object_or_an_invalid_input(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            match merge(None, Some(&bytes), Source::QueryAndBody) {
                Ok(_) => prop_assert!(matches!(serde_json::from_slice(&bytes), Ok(Value::Object(_)))),
                Err(error) => {
                    let invalid_input = matches!(error, ApiError::InvalidInput { .. });
                    prop_assert!(invalid_input);
                }
            }
        }
    }
}
