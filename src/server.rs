//! Connections: the accept loop with its connection limit, HTTP/1 header limits and
//! timeouts, and graceful shutdown bounded by a grace period. `serve` and the tests use it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

/// Request headers (request line included) larger than this are refused by the HTTP
/// parser with a bare `431` and the connection is closed. Below it, the application's own
/// limit ([`crate::http::limits::MAX_HEADER_BYTES`]) answers in the error envelope. More
/// than 100 header fields (hyper's fixed default) is also a bare `431`.
pub const HARD_MAX_HEADER_BYTES: usize = 64 * 1024;

/// The address a request's connection comes from, in the request's extensions. Behind a
/// load balancer or proxy this is the balancer's address, not the client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddress(pub SocketAddr);

/// How the server treats connections.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections served at once; further ones wait in the OS accept backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and the longest an idle
    /// keep-alive connection stays open.
    pub header_read_timeout: Duration,
    /// After a shutdown signal, how long requests in flight may take to finish.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets
/// requests in flight finish for up to the grace period and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let max_connections = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max_connections));
    let (stop, stopping) = watch::channel(false);
    let builder = http1_builder(&limits);
    let accept = async {
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually out of file descriptors: wait for some to be released.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Responses are written whole; sending them at once saves a delayed-ACK wait.
            let _ = stream.set_nodelay(true);
            let service = app.clone().map_request(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(PeerAddress(peer));
                    request
                },
            );
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let mut stopping = stopping.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let mut connection = std::pin::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => return,
                    _ = stopping.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
                }
                let _ = connection.await;
            });
        }
    };
    tokio::select! {
        () = accept => {},
        () = shutdown => {},
    }
    drop(listener);
    let _ = stop.send(true);
    drain(&permits, max_connections, limits.shutdown_grace).await;
}

fn http1_builder(limits: &ConnectionLimits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(HARD_MAX_HEADER_BYTES);
    builder
}

/// Waits until every connection has closed (each holds a permit), or the grace period ends.
async fn drain(permits: &Semaphore, max_connections: usize, grace: Duration) {
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    match tokio::time::timeout(grace, permits.acquire_many(all)).await {
        Ok(_) => tracing::info!("all connections closed"),
        Err(_) => {
            let open = max_connections - permits.available_permits();
            tracing::warn!(
                connections = open,
                grace_ms = grace.as_millis() as u64,
                "grace period over; closing the connections still open"
            );
        }
    }
}
