//! Seam's request parameters, once [`super::request`] has merged them into one object:
//! fields are read one by one in the schema's order, and every problem is collected into
//! one zod-style `invalid_input` error that names each field at fault.

use serde_json::{Map, Value, json};

use super::error::ApiError;
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::ids::{InvalidUuid, UserIdentityId};
use crate::domain::timestamp::Timestamp;
use crate::domain::user_identity::FieldUpdate;

/// One problem with one field (or one element of an array field).
#[derive(Debug, Clone)]
struct Issue {
    path: Vec<String>,
    message: String,
}

/// A value read from a string parameter: how to parse it and how to document it.
pub trait Wire: Sized {
    /// Longest text accepted, in characters; checked before parsing.
    const MAX_CHARS: Option<usize> = None;
    /// The OpenAPI schema of the parameter.
    fn schema() -> Value;
    fn parse(text: &str) -> Result<Self, String>;
}

/// Longest `user_identity_key`, `full_name` and `search`, in characters.
pub const MAX_TEXT_CHARS: usize = 255;
/// Longest `email_address`, in characters (the most SMTP carries).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Bounds on a string parameter's length, in characters (Unicode scalar values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Length {
    pub min: usize,
    pub max: usize,
}

impl Length {
    pub const fn between(min: usize, max: usize) -> Self {
        Self { min, max }
    }

    pub const fn at_most(max: usize) -> Self {
        Self { min: 0, max }
    }

    /// The zod-style message for a string outside the bounds (or holding a NUL), if it is.
    fn check(self, text: &str) -> Option<String> {
        let chars = text.chars().count();
        if text.contains('\0') {
            Some(NUL_MESSAGE.to_owned())
        } else if chars < self.min {
            Some(too_short(self.min))
        } else if chars > self.max {
            Some(too_long(self.max))
        } else {
            None
        }
    }
}

/// NUL cannot be stored in PostgreSQL text and breaks SQLite's full-text queries, so no
/// string parameter may hold one.
const NUL_MESSAGE: &str = "String must not contain the NUL character";

fn too_short(min: usize) -> String {
    format!("String must contain at least {min} character(s)")
}

fn too_long(max: usize) -> String {
    format!("String must contain at most {max} character(s)")
}

impl Wire for String {
    fn schema() -> Value {
        json!({ "type": "string" })
    }

    fn parse(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

impl Wire for EmailAddress {
    const MAX_CHARS: Option<usize> = Some(MAX_EMAIL_CHARS);

    fn schema() -> Value {
        json!({ "type": "string", "format": "email", "maxLength": MAX_EMAIL_CHARS })
    }

    fn parse(text: &str) -> Result<Self, String> {
        EmailAddress::parse(text).map_err(|error| error.to_string())
    }
}

impl Wire for PhoneNumber {
    fn schema() -> Value {
        json!({ "type": "string", "description": "E.164, for example +15555550100" })
    }

    fn parse(text: &str) -> Result<Self, String> {
        PhoneNumber::parse(text).map_err(|error| error.to_string())
    }
}

impl Wire for Timestamp {
    fn schema() -> Value {
        json!({ "type": "string", "format": "date-time" })
    }

    fn parse(text: &str) -> Result<Self, String> {
        Timestamp::parse(text).map_err(|error| error.to_string())
    }
}

impl Wire for UserIdentityId {
    fn schema() -> Value {
        json!({ "type": "string", "format": "uuid" })
    }

    fn parse(text: &str) -> Result<Self, String> {
        text.parse().map_err(|error: InvalidUuid| error.to_string())
    }
}

/// One parameter as documented in the OpenAPI description.
#[derive(Debug, Clone)]
pub struct FieldDoc {
    pub name: String,
    pub schema: Value,
    pub required: bool,
}

/// Parameters being read. Each accessor records problems instead of failing at once, so
/// the error names every field at fault; [`Params::finish`] reports them. A recording
/// instance ([`Params::recording`]) also notes every field read and its schema, which is
/// how the OpenAPI description is generated from the very code that parses requests.
#[derive(Debug)]
pub struct Params {
    values: Map<String, Value>,
    issues: Vec<Issue>,
    docs: Option<Vec<FieldDoc>>,
}

impl Params {
    pub fn from_map(values: Map<String, Value>) -> Self {
        Self {
            values,
            issues: Vec::new(),
            docs: None,
        }
    }

    /// An empty parameter set that records what a reader reads.
    pub fn recording() -> Self {
        Self {
            values: Map::new(),
            issues: Vec::new(),
            docs: Some(Vec::new()),
        }
    }

    /// The fields read so far, when recording.
    pub fn into_docs(self) -> Vec<FieldDoc> {
        self.docs.unwrap_or_default()
    }

    fn document(&mut self, field: &str, required: bool, schema: impl FnOnce() -> Value) {
        if let Some(docs) = &mut self.docs {
            docs.push(FieldDoc {
                name: field.to_owned(),
                schema: schema(),
                required,
            });
        }
    }

    fn issue(&mut self, path: &[&str], message: impl Into<String>) {
        let path = path.iter().map(|segment| (*segment).to_owned()).collect();
        self.issues.push(Issue {
            path,
            message: message.into(),
        });
    }

    fn type_issue(&mut self, field: &str, expected: &str, value: &Value) {
        let message = format!("Expected {expected}, received {}", type_name(value));
        self.issue(&[field], message);
    }

    fn take(&mut self, field: &str) -> Option<Value> {
        self.values.remove(field)
    }

    /// A string that may be absent (`Keep`), null (`Clear`) or a string within `length`
    /// (`Set`).
    pub fn nullable_string(&mut self, field: &str, length: Length) -> FieldUpdate<String> {
        self.document(field, false, || {
            json!({
                "type": "string",
                "minLength": length.min,
                "maxLength": length.max,
                "nullable": true
            })
        });
        self.read_nullable_text(field, length)
    }

    /// An optional, non-null string of at most `max` characters.
    pub fn optional_string(&mut self, field: &str, max: usize) -> Option<String> {
        self.document(
            field,
            false,
            || json!({ "type": "string", "maxLength": max }),
        );
        let text = self.read_text(field)?;
        match Length::at_most(max).check(&text) {
            Some(message) => {
                self.issue(&[field], message);
                None
            }
            None => Some(text),
        }
    }

    fn read_nullable_text(&mut self, field: &str, length: Length) -> FieldUpdate<String> {
        match self.take(field) {
            None => FieldUpdate::Keep,
            Some(Value::Null) => FieldUpdate::Clear,
            Some(Value::String(text)) => match length.check(&text) {
                Some(message) => {
                    self.issue(&[field], message);
                    FieldUpdate::Keep
                }
                None => FieldUpdate::Set(text),
            },
            Some(other) => {
                self.type_issue(field, "string", &other);
                FieldUpdate::Keep
            }
        }
    }

    fn read_text(&mut self, field: &str) -> Option<String> {
        match self.take(field) {
            None => None,
            Some(Value::String(text)) if text.contains('\0') => {
                self.issue(&[field], NUL_MESSAGE);
                None
            }
            Some(Value::String(text)) => Some(text),
            Some(other) => {
                self.type_issue(field, "string", &other);
                None
            }
        }
    }

    fn parse_text<T: Wire>(&mut self, field: &str, text: &str) -> Option<T> {
        if let Some(max) = T::MAX_CHARS.filter(|max| text.chars().count() > *max) {
            self.issue(&[field], too_long(max));
            return None;
        }
        match T::parse(text) {
            Ok(value) => Some(value),
            Err(message) => {
                self.issue(&[field], message);
                None
            }
        }
    }

    /// Like [`Self::nullable_string`], then parsed as `T`.
    pub fn nullable<T: Wire>(&mut self, field: &str) -> FieldUpdate<T> {
        self.document(field, false, || with_nullable(T::schema()));
        match self.read_nullable_text(field, Length::at_most(usize::MAX)) {
            FieldUpdate::Set(text) => match self.parse_text(field, &text) {
                Some(value) => FieldUpdate::Set(value),
                None => FieldUpdate::Keep,
            },
            FieldUpdate::Clear => FieldUpdate::Clear,
            FieldUpdate::Keep => FieldUpdate::Keep,
        }
    }

    /// An optional, non-null `T`.
    pub fn optional<T: Wire>(&mut self, field: &str) -> Option<T> {
        self.document(field, false, T::schema);
        let text = self.read_text(field)?;
        self.parse_text(field, &text)
    }

    /// An optional `T` that may also be null, which reads as absent.
    pub fn optional_or_null<T: Wire>(&mut self, field: &str) -> Option<T> {
        self.document(field, false, || with_nullable(T::schema()));
        match self.read_nullable_text(field, Length::at_most(usize::MAX)) {
            FieldUpdate::Set(text) => self.parse_text(field, &text),
            FieldUpdate::Clear | FieldUpdate::Keep => None,
        }
    }

    /// A required, non-null `T`.
    pub fn required<T: Wire>(&mut self, field: &str) -> Option<T> {
        self.document(field, true, T::schema);
        if !self.values.contains_key(field) {
            if self.docs.is_none() {
                self.issue(&[field], "Required");
            }
            return None;
        }
        let text = self.read_text(field)?;
        self.parse_text(field, &text)
    }

    /// An optional array of `T`. A single string is split on commas, as Seam does for
    /// query strings and bodies alike.
    pub fn optional_array<T: Wire>(&mut self, field: &str) -> Option<Vec<T>> {
        self.document(
            field,
            false,
            || json!({ "type": "array", "items": T::schema() }),
        );
        let items = match self.take(field)? {
            Value::Array(items) => items,
            Value::String(text) => text
                .split(',')
                .map(|part| Value::String(part.to_owned()))
                .collect(),
            other => {
                self.type_issue(field, "array", &other);
                return None;
            }
        };
        let mut parsed = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let index = index.to_string();
            match item {
                Value::String(text) => match T::parse(text) {
                    Ok(value) => parsed.push(value),
                    Err(message) => self.issue(&[field, &index], message),
                },
                other => {
                    let message = format!("Expected string, received {}", type_name(other));
                    self.issue(&[field, &index], message);
                }
            }
        }
        (parsed.len() == items.len()).then_some(parsed)
    }

    /// An optional integer greater than zero. Strings are coerced as JavaScript's
    /// `Number()` would.
    pub fn optional_positive_integer(&mut self, field: &str, default: u64) -> Option<u64> {
        self.document(field, false, || {
            json!({ "type": "integer", "minimum": 0, "exclusiveMinimum": true, "default": default })
        });
        let value = self.take(field)?;
        let number = match &value {
            Value::Number(number) => number.as_f64(),
            Value::String(text) if text.trim().is_empty() => Some(0.0),
            Value::String(text) => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
            Value::Null => Some(0.0),
            _ => None,
        };
        match number {
            None => self.issue(&[field], "Expected number, received nan"),
            Some(number) if number.fract() != 0.0 => {
                self.issue(&[field], "Expected integer, received float")
            }
            Some(number) if number <= 0.0 => self.issue(&[field], "Number must be greater than 0"),
            Some(number) if number >= u64::MAX as f64 => return Some(u64::MAX),
            Some(number) => return Some(number as u64),
        }
        None
    }

    pub fn has(&self, field: &str) -> bool {
        self.values.get(field).is_some_and(|value| !value.is_null())
    }

    /// Records a problem found by a handler's own cross-field rule.
    pub fn reject(&mut self, field: &str, message: &str) {
        self.issue(&[field], message);
    }

    /// Succeeds when no problem was recorded; unknown parameters are ignored, as Seam does.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.issues.is_empty() {
            return Ok(());
        }
        let messages: Vec<String> = self.issues.iter().map(describe).collect();
        let message = match messages.as_slice() {
            [only] => only.clone(),
            many => format!("{} Input Errors: {}", many.len(), many.join(", ")),
        };
        let mut validation_errors = json!({ "_errors": [] });
        for issue in &self.issues {
            let mut node = &mut validation_errors;
            for segment in &issue.path {
                node = node
                    .as_object_mut()
                    .expect("validation error nodes are objects")
                    .entry(segment.clone())
                    .or_insert_with(|| json!({ "_errors": [] }));
            }
            if let Some(Value::Array(errors)) = node.get_mut("_errors") {
                errors.push(Value::String(issue.message.clone()));
            }
        }
        Err(ApiError::InvalidInput {
            message,
            validation_errors,
        })
    }
}

fn with_nullable(mut schema: Value) -> Value {
    if let Some(object) = schema.as_object_mut() {
        object.insert("nullable".into(), Value::Bool(true));
    }
    schema
}

fn describe(issue: &Issue) -> String {
    let path = issue.path.join(".");
    if issue.message == "Required" {
        format!("{path} is required")
    } else {
        format!("{} for \"{path}\"", issue.message)
    }
}

/// The `invalid_input` error for one problem with one field.
pub fn single_issue(field: &str, message: &str) -> ApiError {
    let mut params = Params::from_map(Map::new());
    params.issue(&[field], message);
    params.finish().expect_err("an issue was recorded")
}

pub(super) fn single_issue_message(message: String, field: &str, issue: &str) -> ApiError {
    ApiError::InvalidInput {
        message,
        validation_errors: json!({ "_errors": [], field: { "_errors": [issue] } }),
    }
}

pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::parse_query;

    #[test]
    fn query_arrays_accept_repeat_bracket_and_comma_forms() {
        for query in ["a=x&a=y", "a[]=x&a[]=y", "a=x,y"] {
            let mut params = Params::from_map(parse_query(query));
            let items = params.optional_array::<String>("a");
            assert_eq!(items, Some(vec!["x".to_owned(), "y".to_owned()]), "{query}");
        }
    }

    #[test]
    fn issues_are_reported_together_in_zod_form() {
        let mut params = Params::from_map(json!({"a": 5, "n": "0"}).as_object().unwrap().clone());
        params.nullable_string("a", Length::between(1, 5));
        params.optional_positive_integer("n", 1);
        params.required::<String>("id");
        let Err(ApiError::InvalidInput {
            message,
            validation_errors,
        }) = params.finish()
        else {
            panic!("expected invalid input");
        };
        assert_eq!(
            message,
            "3 Input Errors: Expected string, received number for \"a\", \
             Number must be greater than 0 for \"n\", id is required"
        );
        assert_eq!(validation_errors["id"]["_errors"][0], "Required");
        assert_eq!(validation_errors["_errors"], json!([]));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn string_limits_count_characters(text in "\\PC{0,12}", min in 0usize..6, max in 0usize..12) {
            let mut params = Params::from_map(json!({ "f": text }).as_object().unwrap().clone());
            let chars = text.chars().count();
            let read = params.nullable_string("f", Length::between(min, max));
            let within = (min..=max).contains(&chars);
            prop_assert_eq!(read.into_option().is_some(), within);
            prop_assert_eq!(params.finish().is_ok(), within);
        }
    }
}
