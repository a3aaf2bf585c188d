//! The `pagination` block of list responses. `next_page_url` repeats the query as a GET
//! with `page_cursor` set, so following it returns the next page.

use serde::Serialize;

use super::Call;
use crate::service::user_identities::ListRequest;

#[derive(Debug, Default, Serialize)]
pub struct Pagination {
    has_next_page: bool,
    next_page_cursor: Option<String>,
    next_page_url: Option<String>,
}

pub fn block(
    call: &Call,
    path: &str,
    next_page_cursor: Option<String>,
    request: &ListRequest,
) -> Pagination {
    let next_page_url = next_page_cursor.as_deref().map(|cursor| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        let filter = &request.filter;
        if let Some(before) = filter.created_before {
            query.append_pair("created_before", &before.to_string());
        }
        query.append_pair("limit", &request.limit.to_string());
        query.append_pair("page_cursor", cursor);
        if let Some(search) = &filter.search {
            query.append_pair("search", search);
        }
        for id in filter.user_identity_ids.iter().flatten() {
            query.append_pair("user_identity_ids", &id.to_string());
        }
        format!("{}{path}?{}", call.origin, query.finish())
    });
    Pagination {
        has_next_page: next_page_cursor.is_some(),
        next_page_cursor,
        next_page_url,
    }
}
