//! Prometheus metrics: requests by route template, method and status, a latency
//! histogram per route, and the database pool's occupancy. Labels come from the route
//! table only, never from a request's content, so no credential or personal data can
//! appear and the number of series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::store::PoolStatus;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The label of a request that matched no route.
const UNMATCHED: &str = "unmatched";

#[derive(Default)]
struct Latency {
    /// Per bucket (not cumulative); the last slot counts what exceeds every bound.
    counts: [u64; BUCKETS.len() + 1],
    sum_seconds: f64,
}

#[derive(Default)]
struct Series {
    requests: BTreeMap<(String, &'static str, u16), u64>,
    latency: BTreeMap<String, Latency>,
}

/// Counters since the process started.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<Series>,
}

impl Metrics {
    fn record(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *series
            .requests
            .entry((route.to_owned(), method, status))
            .or_default() += 1;
        let latency = match series.latency.get_mut(route) {
            Some(latency) => latency,
            None => series.latency.entry(route.to_owned()).or_default(),
        };
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        latency.counts[bucket] += 1;
        latency.sum_seconds += seconds;
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self, pool: Option<PoolStatus>) -> String {
        let mut out = String::with_capacity(4096);
        let series = self
            .series
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        out.push_str(
            "# HELP identity_server_http_requests_total HTTP requests answered, by route template, method and status.\n\
             # TYPE identity_server_http_requests_total counter\n",
        );
        for ((route, method, status), count) in &series.requests {
            let route = escape(route);
            let _ = writeln!(
                out,
                "identity_server_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP identity_server_http_request_duration_seconds Time from request to response, by route template.\n\
             # TYPE identity_server_http_request_duration_seconds histogram\n",
        );
        for (route, latency) in &series.latency {
            render_histogram(&mut out, &escape(route), latency);
        }
        drop(series);
        if let Some(pool) = pool {
            render_pool(&mut out, pool);
        }
        out
    }
}

fn render_histogram(out: &mut String, route: &str, latency: &Latency) {
    let name = "identity_server_http_request_duration_seconds";
    let mut cumulative = 0;
    for (bound, count) in BUCKETS.iter().zip(latency.counts) {
        cumulative += count;
        let _ = writeln!(
            out,
            "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
        );
    }
    cumulative += latency.counts[BUCKETS.len()];
    let _ = writeln!(
        out,
        "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}"
    );
    let _ = writeln!(
        out,
        "{name}_sum{{route=\"{route}\"}} {}",
        latency.sum_seconds
    );
    let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {cumulative}");
}

fn render_pool(out: &mut String, pool: PoolStatus) {
    let in_use = pool.size.saturating_sub(pool.available);
    for (name, help, value) in [
        (
            "identity_server_db_pool_max_connections",
            "Most database connections this process may open.",
            pool.max_size,
        ),
        (
            "identity_server_db_pool_connections",
            "Database connections open, idle or in use.",
            pool.size,
        ),
        (
            "identity_server_db_pool_connections_in_use",
            "Database connections serving a request.",
            in_use,
        ),
        (
            "identity_server_db_pool_waiting",
            "Requests waiting for a database connection.",
            pool.waiting,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
}

/// Escapes a label value as the exposition format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        _ => "other",
    }
}

/// Middleware: counts every response under the route template that matched.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let response = next.run(request).await;
    let route = route.as_deref().unwrap_or(UNMATCHED);
    let seconds = started.elapsed().as_secs_f64();
    state
        .metrics()
        .record(route, method, response.status().as_u16(), seconds);
    response
}

/// `GET /metrics`: no credentials, no personal data.
pub async fn serve(State(state): State<AppState>) -> Response {
    let body = state.metrics().render(state.store().pool_status());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_counts_requests_and_fills_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.record("/user_identities/get", "GET", 200, 0.0004);
        metrics.record("/user_identities/get", "GET", 200, 0.03);
        metrics.record("/user_identities/get", "POST", 404, 7.0);
        let pool = PoolStatus {
            max_size: 16,
            size: 3,
            available: 1,
            waiting: 0,
        };
        let text = metrics.render(Some(pool));
        for line in [
            "identity_server_http_requests_total{route=\"/user_identities/get\",method=\"GET\",status=\"200\"} 2",
            "identity_server_http_requests_total{route=\"/user_identities/get\",method=\"POST\",status=\"404\"} 1",
            "identity_server_http_request_duration_seconds_bucket{route=\"/user_identities/get\",le=\"0.001\"} 1",
            "identity_server_http_request_duration_seconds_bucket{route=\"/user_identities/get\",le=\"0.05\"} 2",
            "identity_server_http_request_duration_seconds_bucket{route=\"/user_identities/get\",le=\"5\"} 2",
            "identity_server_http_request_duration_seconds_bucket{route=\"/user_identities/get\",le=\"+Inf\"} 3",
            "identity_server_http_request_duration_seconds_count{route=\"/user_identities/get\"} 3",
            "identity_server_db_pool_connections_in_use 2",
            "identity_server_db_pool_max_connections 16",
        ] {
            assert!(
                text.lines().any(|got| got == line),
                "{line} missing in\n{text}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
