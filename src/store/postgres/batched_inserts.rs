//! Creates that arrive together are inserted together, in one statement.
//!
//! A create inserted on its own is a statement, a commit and a WAL flush of its own. On
//! this schema (then four trigram indexes and four B-trees per row) with `fsync` and
//! `synchronous_commit` on, pgbench on a 2-core machine inserted 5,100 to 7,700 rows/s
//! one row per statement at 16 clients and 4,900 at 64, against 9,600 to 10,800 and 8,000
//! in statements of 16 rows.
//!
//! Each create hands its row to a collector task and waits. The collector gathers every
//! row queued by the time a batch slot is free, up to [`MAX_BATCH`], and inserts them in
//! one statement on a pooled connection; at most `slots` batches run at once, so rows
//! queue, and batches grow, exactly when the database is the bottleneck. One client alone
//! makes batches of one. A batch commits entirely or not at all, and a create is answered
//! only after its batch has committed.
//!
//! `ON CONFLICT DO NOTHING` skips a row that a unique index refuses. That row, and every
//! row of a batch refused for any reason other than an unreachable database (a workspace
//! that no longer exists, say), goes back to its caller as [`Outcome::Refused`] to be
//! inserted alone, which reports the conflict or the error exactly as a lone insert does.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::{map_pool_error, settle, user_identities};
use crate::domain::user_identity::UserIdentity;
use crate::store::{StoreError, StoreResult};

/// The most rows one statement inserts.
const MAX_BATCH: usize = 64;

/// Creates waiting for a batch before `insert` itself waits to queue.
const QUEUE_DEPTH: usize = 1024;

pub struct BatchedInserts {
    queue: mpsc::Sender<Pending>,
}

/// What became of a row handed to [`BatchedInserts::insert`].
pub enum Outcome {
    /// Committed.
    Inserted(UserIdentity),
    /// Not inserted; insert it alone to learn why.
    Refused(UserIdentity),
}

struct Pending {
    row: UserIdentity,
    reply: oneshot::Sender<StoreResult<Outcome>>,
}

impl BatchedInserts {
    /// Starts the collector; at most `slots` batches hold a pooled connection at once, and
    /// each waits at most `deadline` for the database once it has one.
    pub fn start(pool: Pool, slots: usize, deadline: Duration) -> Self {
        let (queue, queued) = mpsc::channel(QUEUE_DEPTH);
        let slots = Arc::new(Semaphore::new(slots.max(1)));
        tokio::spawn(collect(queued, pool, slots, deadline));
        Self { queue }
    }

    pub async fn insert(&self, row: UserIdentity) -> StoreResult<Outcome> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the insert batcher has stopped".to_owned());
        self.queue
            .send(Pending { row, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Runs until every [`BatchedInserts`] handle is dropped.
async fn collect(
    mut queued: mpsc::Receiver<Pending>,
    pool: Pool,
    slots: Arc<Semaphore>,
    deadline: Duration,
) {
    while let Some(first) = queued.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queued.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        tokio::spawn(run(pool.clone(), batch, deadline, slot));
    }
}

/// Inserts one batch and answers every row of it.
async fn run(pool: Pool, batch: Vec<Pending>, deadline: Duration, _slot: OwnedSemaphorePermit) {
    let rows: Vec<&UserIdentity> = batch.iter().map(|pending| &pending.row).collect();
    let inserted = insert(&pool, &rows, deadline).await;
    match inserted {
        Ok(mut ids) => {
            ids.sort_unstable();
            for Pending { row, reply } in batch {
                let outcome = if ids.binary_search(row.user_identity_id.as_uuid()).is_ok() {
                    Outcome::Inserted(row)
                } else {
                    Outcome::Refused(row)
                };
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(StoreError::Unavailable(reason)) => {
            for Pending { reply, .. } in batch {
                let _ = reply.send(Err(StoreError::Unavailable(reason.clone())));
            }
        }
        Err(_) => {
            for Pending { row, reply } in batch {
                let _ = reply.send(Ok(Outcome::Refused(row)));
            }
        }
    }
}

/// The ids of the rows inserted; the connection goes back to the pool before the answer.
/// A connection that gets no answer within `deadline` is closed, not returned, and the
/// batch is `Unavailable` (its rows may still have been committed, as for any write cut off
/// by a timeout).
async fn insert(pool: &Pool, rows: &[&UserIdentity], deadline: Duration) -> StoreResult<Vec<Uuid>> {
    let client = pool.get().await.map_err(map_pool_error)?;
    let insert = user_identities::insert_unless_taken(&client, rows);
    let outcome = tokio::time::timeout(deadline, insert).await;
    settle(outcome, client, deadline)
}
