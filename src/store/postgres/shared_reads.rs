//! Single-row reads (an identity by id or by key) on a few connections that concurrent
//! requests share, apart from the pool.
//!
//! A pooled connection serves one request at a time: every read is a write of its own to
//! the socket, and the backend sleeps after each query until the next one wakes it.
//! tokio-postgres pipelines the queries that concurrent callers send on one client, so
//! under load many reads leave in one write and the backend answers them one after the
//! other without sleeping in between. On a database short of CPU, that sleeping and
//! waking is a large part of what a read costs: with 16 concurrent gets on a shared
//! 2-core machine, PostgreSQL's CPU per get fell from about 32 to 15 us and the server's
//! from 32 to 24 us. Only lookups of one row by an index come here: a slow statement
//! would hold up every read queued behind it on its connection.
//!
//! Failures are handled as for pooled connections: a read that gets no answer within the
//! deadline answers `Unavailable` and its connection is dropped, and a broken connection
//! is replaced by the next read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls, Statement};

use super::user_identities;
use crate::domain::ids::WorkspaceId;
use crate::domain::user_identity::{UserIdentity, UserIdentityLookup};
use crate::store::{StoreError, StoreResult};

/// Reads one connection takes before the next lane is used: pipelining gains the most
/// when the reads are gathered on few connections, and past this many one backend would
/// queue reads another could answer.
const LANE_DEPTH: usize = 16;

pub struct SharedReads {
    config: Config,
    lanes: Box<[Lane]>,
    connect_timeout: Duration,
    /// The longest a read waits for its answer once sent.
    deadline: Duration,
}

/// One shared connection, opened on first use and again after it breaks.
#[derive(Default)]
struct Lane {
    current: Mutex<Option<Arc<Reader>>>,
    /// Reads sent on this lane and not yet answered.
    in_flight: AtomicUsize,
    /// Held while connecting, so that one caller connects and the others wait for it.
    connecting: tokio::sync::Mutex<()>,
}

/// A connection and the statements prepared on it.
struct Reader {
    client: Client,
    by_id: Statement,
    by_key: Statement,
    connection: tokio::task::JoinHandle<()>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl SharedReads {
    /// `lanes` connections, each opened on first use; `None` for none.
    pub fn new(
        config: Config,
        lanes: usize,
        connect_timeout: Duration,
        deadline: Duration,
    ) -> Option<Self> {
        (lanes > 0).then(|| Self {
            config,
            lanes: (0..lanes).map(|_| Lane::default()).collect(),
            connect_timeout,
            deadline,
        })
    }

    pub async fn user_identity(
        &self,
        workspace_id: WorkspaceId,
        lookup: &UserIdentityLookup,
    ) -> StoreResult<Option<UserIdentity>> {
        let lane = self.pick();
        let _in_flight = InFlight::enter(lane);
        let reader = self.reader(lane).await?;
        let read = async {
            let row = match lookup {
                UserIdentityLookup::Id(id) => {
                    let statement = &reader.by_id;
                    reader
                        .client
                        .query_opt(statement, &[id.as_uuid(), workspace_id.as_uuid()])
                        .await?
                }
                UserIdentityLookup::Key(key) => {
                    let statement = &reader.by_key;
                    reader
                        .client
                        .query_opt(statement, &[workspace_id.as_uuid(), key])
                        .await?
                }
            };
            Ok(row.as_ref().map(user_identities::from_row))
        };
        match tokio::time::timeout(self.deadline, read).await {
            Ok(result) => result,
            Err(_) => {
                // The connection stopped answering: the next read opens a new one.
                lane.forget(&reader);
                Err(StoreError::Unavailable(format!(
                    "no answer from PostgreSQL within {:?}",
                    self.deadline
                )))
            }
        }
    }

    /// The first lane with room, else the least busy one.
    fn pick(&self) -> &Lane {
        let mut least = &self.lanes[0];
        for lane in self.lanes.iter() {
            let busy = lane.in_flight.load(Ordering::Relaxed);
            if busy < LANE_DEPTH {
                return lane;
            }
            if busy < least.in_flight.load(Ordering::Relaxed) {
                least = lane;
            }
        }
        least
    }

    /// The lane's connection, opened when it has none or its last one broke.
    async fn reader(&self, lane: &Lane) -> StoreResult<Arc<Reader>> {
        if let Some(reader) = lane.live() {
            return Ok(reader);
        }
        match tokio::time::timeout(self.connect_timeout, lane.connect(&self.config)).await {
            Ok(reader) => reader,
            Err(_) => Err(StoreError::Unavailable(format!(
                "no PostgreSQL connection within {:?}",
                self.connect_timeout
            ))),
        }
    }
}

impl Lane {
    fn live(&self) -> Option<Arc<Reader>> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|reader| !reader.client.is_closed())
            .cloned()
    }

    async fn connect(&self, config: &Config) -> StoreResult<Arc<Reader>> {
        let _connecting = self.connecting.lock().await;
        if let Some(reader) = self.live() {
            return Ok(reader);
        }
        let (client, connection) = config.connect(NoTls).await?;
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        let prepared = async {
            let by_id = client.prepare(user_identities::FIND_BY_ID).await?;
            let by_key = client.prepare(user_identities::FIND_BY_KEY).await?;
            Ok::<_, tokio_postgres::Error>((by_id, by_key))
        };
        let (by_id, by_key) = match prepared.await {
            Ok(statements) => statements,
            Err(error) => {
                connection.abort();
                return Err(error.into());
            }
        };
        let reader = Arc::new(Reader {
            client,
            by_id,
            by_key,
            connection,
        });
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(reader.clone());
        Ok(reader)
    }

    /// Drops `reader` from the lane, unless another has replaced it already.
    fn forget(&self, reader: &Arc<Reader>) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_some_and(|now| Arc::ptr_eq(now, reader)) {
            *current = None;
        }
    }
}

/// Counts a read in its lane's `in_flight` for as long as it lives.
struct InFlight<'a>(&'a Lane);

impl<'a> InFlight<'a> {
    fn enter(lane: &'a Lane) -> Self {
        lane.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(lane)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
