//! The server's own OpenAPI description, served at `/openapi.json`. Paths, verbs and
//! parameters come from the route table and from recording what each action's parameter
//! reader reads, so the description cannot drift from the code that parses requests.

use std::sync::LazyLock;

use axum::Json;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::params::{FieldDoc, Params};
use super::request::Source;
use super::{ACTIONS, Action, Reply};

static DOCUMENT: LazyLock<Value> = LazyLock::new(document);

/// `GET /openapi.json`
pub async fn serve() -> Response {
    Json(DOCUMENT.clone()).into_response()
}

/// Builds the whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for action in ACTIONS {
        let mut operations = Map::new();
        for method in action.methods {
            operations.insert(method.as_str().to_lowercase(), operation(action, method));
        }
        paths.insert(action.path.to_owned(), Value::Object(operations));
    }
    json!({
        "openapi": "3.0.0",
        "info": {
            "title": "identity-server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Seam Connect's user identity API, self-hosted.",
        },
        "servers": [{ "url": "http://127.0.0.1:3020" }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "api_key": { "type": "http", "scheme": "bearer", "bearerFormat": "API Key" },
                "pat_with_workspace": { "type": "http", "scheme": "bearer", "bearerFormat": "API Token" },
                "seam_workspace": { "type": "apiKey", "in": "header", "name": "seam-workspace" },
            },
            "schemas": {
                "user_identity": user_identity_schema(),
                "pagination": pagination_schema(),
                "workspace": workspace_schema(),
            },
        },
    })
}

fn fields_of(action: &Action) -> Vec<FieldDoc> {
    let mut params = Params::recording();
    (action.read)(&mut params);
    params.into_docs()
}

fn operation(action: &Action, method: &Method) -> Value {
    let fields = fields_of(action);
    let name = action.path.trim_start_matches('/').replace('/', "_");
    let verb = method.as_str().to_lowercase();
    let mut operation = json!({
        "summary": action.path,
        "description": action.description,
        "operationId": format!("{}{}", camel_case(&name), capitalized(&verb)),
        "tags": [format!("/{}", action.path.trim_start_matches('/').split('/').next().unwrap_or_default())],
        "security": [{ "api_key": [] }, { "pat_with_workspace": [], "seam_workspace": [] }],
        "responses": responses(action.reply),
        "x-response-key": action.reply.key(),
    });
    let in_query = *method == Method::GET || *method == Method::DELETE;
    if in_query {
        let parameters: Vec<Value> = fields.iter().map(query_parameter).collect();
        operation["parameters"] = Value::Array(parameters);
    } else {
        operation["requestBody"] = json!({
            "content": { "application/json": { "schema": object_schema(&fields) } },
        });
    }
    if action.source == Source::BodyOnly {
        operation["x-parameters-from"] = json!("json body only");
    }
    operation
}

fn query_parameter(field: &FieldDoc) -> Value {
    let mut parameter = json!({
        "in": "query",
        "name": field.name,
        "required": field.required,
        "schema": field.schema,
    });
    if field.schema["type"] == "array" {
        parameter["style"] = json!("form");
        parameter["explode"] = json!(true);
    }
    parameter
}

fn object_schema(fields: &[FieldDoc]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|field| (field.name.clone(), field.schema.clone()))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|field| field.required)
        .map(|field| field.name.as_str())
        .collect();
    let mut schema = json!({ "type": "object", "properties": properties });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

fn responses(reply: Reply) -> Value {
    let success = match reply {
        Reply::UserIdentity => envelope(&[(
            "user_identity",
            json!({ "$ref": "#/components/schemas/user_identity" }),
        )]),
        Reply::UserIdentities => envelope(&[
            (
                "user_identities",
                json!({ "type": "array", "items": { "$ref": "#/components/schemas/user_identity" } }),
            ),
            (
                "pagination",
                json!({ "$ref": "#/components/schemas/pagination" }),
            ),
        ]),
        Reply::Workspace => envelope(&[(
            "workspace",
            json!({ "$ref": "#/components/schemas/workspace" }),
        )]),
        Reply::Ok => envelope(&[]),
    };
    // Inline, not a component: the Seam CLI's blueprint takes every object in
    // `components.schemas` for a resource, and a resource needs a route of its own.
    let error = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": error_schema() } },
        })
    };
    json!({
        "200": { "description": "OK", "content": { "application/json": { "schema": success } } },
        "400": error("Invalid input, duplicate value, or mismatched page parameters"),
        "401": error("Unauthorized"),
        "404": error("Not found"),
        "405": error("Method not allowed"),
        "413": error("Request body too large"),
        "503": error("Database unavailable"),
    })
}

fn envelope(fields: &[(&str, Value)]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, schema) in fields {
        properties.insert((*name).to_owned(), schema.clone());
        required.push(json!(name));
    }
    properties.insert("ok".into(), json!({ "type": "boolean" }));
    required.push(json!("ok"));
    json!({ "type": "object", "properties": properties, "required": required })
}

fn user_identity_schema() -> Value {
    let nullable_string = |min_length: Option<u32>| {
        let mut schema = json!({ "type": "string", "nullable": true });
        if let Some(min) = min_length {
            schema["minLength"] = json!(min);
        }
        schema
    };
    let empty_array = json!({ "type": "array", "items": { "type": "object" }, "maxItems": 0 });
    json!({
        "type": "object",
        "x-route-path": "/user_identities",
        "properties": {
            "user_identity_id": { "type": "string", "format": "uuid" },
            "user_identity_key": nullable_string(Some(1)),
            "email_address": { "type": "string", "format": "email", "nullable": true },
            "phone_number": nullable_string(None),
            "display_name": { "type": "string", "minLength": 1 },
            "full_name": nullable_string(Some(1)),
            "created_at": { "type": "string", "format": "date-time" },
            "workspace_id": { "type": "string", "format": "uuid" },
            "errors": empty_array,
            "warnings": empty_array,
            "acs_user_ids": { "type": "array", "items": { "type": "string", "format": "uuid" } },
        },
        "required": [
            "user_identity_id", "user_identity_key", "email_address", "phone_number",
            "display_name", "full_name", "created_at", "workspace_id", "errors", "warnings",
            "acs_user_ids",
        ],
    })
}

fn pagination_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "has_next_page": { "type": "boolean" },
            "next_page_cursor": { "type": "string", "nullable": true },
            "next_page_url": { "type": "string", "format": "uri", "nullable": true },
        },
        "required": ["has_next_page", "next_page_cursor", "next_page_url"],
    })
}

fn workspace_schema() -> Value {
    json!({
        "type": "object",
        "x-route-path": "/workspaces",
        "properties": {
            "workspace_id": { "type": "string", "format": "uuid" },
            "name": { "type": "string" },
            "company_name": { "type": "string" },
            "is_sandbox": { "type": "boolean" },
            "connect_webview_customization": { "type": "object", "properties": {} },
            "is_suspended": { "type": "boolean" },
            "is_publishable_key_auth_enabled": { "type": "boolean" },
            "connect_partner_name": { "type": "string", "nullable": true },
            "organization_id": { "type": "string", "nullable": true },
        },
        "required": [
            "workspace_id", "name", "company_name", "is_sandbox",
            "connect_webview_customization", "is_suspended",
            "is_publishable_key_auth_enabled", "connect_partner_name", "organization_id",
        ],
    })
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "type": { "type": "string" },
                    "message": { "type": "string" },
                    "validation_errors": { "type": "object" },
                },
                "required": ["type", "message"],
            },
            "ok": { "type": "boolean", "enum": [false] },
        },
        "required": ["error", "ok"],
    })
}

fn camel_case(snake: &str) -> String {
    let mut words = snake.split('_');
    let first = words.next().unwrap_or_default().to_owned();
    words.fold(first, |mut out, word| {
        out.push_str(&capitalized(word));
        out
    })
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_verb_is_described() {
        let document = document();
        for action in ACTIONS {
            for method in action.methods {
                let operation = &document["paths"][action.path][method.as_str().to_lowercase()];
                assert!(operation.is_object(), "{} {}", method, action.path);
            }
        }
        let update = &document["paths"]["/user_identities/update"]["patch"];
        let body = &update["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body["required"], json!(["user_identity_id"]));
        assert_eq!(body["properties"]["email_address"]["format"], "email");
        let get = &document["paths"]["/user_identities/get"]["get"]["parameters"];
        let names: Vec<&str> = get
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["user_identity_id", "user_identity_key"]);
        let list = &document["paths"]["/user_identities/list"]["get"]["parameters"];
        assert_eq!(list.as_array().unwrap().len(), 6);
    }

    /// The Seam CLI builds its commands from this document (`seam --remote-schema`) with
    /// `@seamapi/blueprint`, which needs every object schema in `components` to name its
    /// route in `x-route-path` (`pagination` excepted) and that route to be described.
    #[test]
    fn every_component_names_a_described_route() {
        let document = document();
        let routes: Vec<String> = document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(|path| path.rsplit_once('/').unwrap().0.to_owned())
            .collect();
        for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
            if name == "pagination" {
                continue;
            }
            let route = schema["x-route-path"].as_str().unwrap_or_default();
            assert!(
                routes.iter().any(|r| r == route),
                "{name}: x-route-path {route:?}"
            );
        }
    }
}
