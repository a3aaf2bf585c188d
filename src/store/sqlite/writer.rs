//! The single SQLite writer. Writes queue on a channel; the writer thread takes every job
//! waiting, runs each inside its own savepoint, and commits them in one transaction, so one
//! fsync acknowledges many writes (group commit). A job's caller hears back only after the
//! commit that holds its write is durable. The search index is brought up to date once per
//! commit, just before it (see [`search_index`]).

use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::clock::IdClock;
use super::search_index;
use crate::store::{StoreError, StoreResult};

/// Largest number of jobs committed together; bounds the latency of the first job.
const MAX_BATCH: usize = 512;

/// What a job sees: the connection, inside an open transaction, and the id clock.
pub struct WriteContext<'a> {
    pub conn: &'a Connection,
    pub clock: &'a mut IdClock,
}

type Completion = Box<dyn FnOnce(StoreResult<()>) + Send>;
type Job = Box<dyn FnOnce(&mut WriteContext<'_>) -> Completion + Send>;

/// A handle to the writer thread. Dropping every handle stops the thread after it has
/// committed what was queued.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub fn spawn(conn: Connection, clock: IdClock) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, clock, queue))?;
        Ok(Self { jobs })
    }

    /// Runs `op` in the writer's next transaction and returns its result once committed.
    /// If `op` fails, its changes are rolled back and other jobs in the batch still commit.
    pub async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteContext<'_>) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |context| {
            let outcome = in_savepoint(context, op);
            Box::new(move |commit: StoreResult<()>| {
                let _ = reply.send(commit.and(outcome));
            })
        });
        self.jobs.send(job).map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable("the SQLite writer has stopped".into())
}

fn in_savepoint<T>(
    context: &mut WriteContext<'_>,
    op: impl FnOnce(&mut WriteContext<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    context
        .conn
        .prepare_cached("SAVEPOINT job")
        .and_then(|mut statement| statement.execute([]))
        .map_err(super::map_error)?;
    let outcome = op(context);
    // Cached statements: parsing these on every write showed up in profiles.
    let finish = if outcome.is_ok() {
        context
            .conn
            .prepare_cached("RELEASE job")
            .and_then(|mut statement| statement.execute([]))
            .map(drop)
    } else {
        context.conn.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    finish.map_err(super::map_error)?;
    outcome
}

fn run(conn: Connection, mut clock: IdClock, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&conn, &mut clock, batch);
    }
}

fn commit_batch(conn: &Connection, clock: &mut IdClock, batch: Vec<Job>) {
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        let error = super::map_error(error);
        tracing::error!(%error, "sqlite writer could not begin a transaction");
        let mut context = WriteContext { conn, clock };
        for job in batch {
            job(&mut context)(Err(StoreError::Unavailable(error.to_string())));
        }
        return;
    }
    let mut context = WriteContext { conn, clock };
    let completions: Vec<Completion> = batch.into_iter().map(|job| job(&mut context)).collect();
    let commit = search_index::index_changes(conn)
        .and_then(|()| conn.execute_batch("COMMIT"))
        .map_err(super::map_error);
    if let Err(error) = &commit {
        tracing::error!(%error, jobs = completions.len(), "sqlite group commit failed");
        let _ = conn.execute_batch("ROLLBACK");
    }
    for complete in completions {
        complete(match &commit {
            Ok(()) => Ok(()),
            Err(error) => Err(StoreError::Unavailable(error.to_string())),
        });
    }
}
