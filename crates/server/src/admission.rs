//! Bounded admission: a fixed number of sandbox calls at once, a bounded
//! queue behind them, and an immediate "busy" past that.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::AppState;
use crate::problem::Problem;

/// The two bounds of [`crate::ServerConfig`]: `jobs` running, `queue` waiting.
pub(crate) struct Admission {
    /// Running plus waiting.
    admitted: Arc<Semaphore>,
    /// Running.
    running: Arc<Semaphore>,
}

/// A request's place: it holds its admission until dropped.
pub(crate) struct Ticket {
    _admitted: OwnedSemaphorePermit,
}

impl Admission {
    pub(crate) fn new(jobs: usize, queue: usize) -> Admission {
        let jobs = jobs.max(1);
        Admission { admitted: Arc::new(Semaphore::new(jobs + queue)), running: Arc::new(Semaphore::new(jobs)) }
    }

    /// Admits a request or says the server is busy.
    pub(crate) fn admit(&self) -> Result<Ticket, Problem> {
        match self.admitted.clone().try_acquire_owned() {
            Ok(permit) => Ok(Ticket { _admitted: permit }),
            Err(_) => Err(Problem::overloaded(1)),
        }
    }

    /// Waits for a running slot.
    pub(crate) async fn run_slot(&self) -> OwnedSemaphorePermit {
        self.running.clone().acquire_owned().await.expect("the semaphore is never closed")
    }
}

/// Runs `f` on a blocking thread once a sandbox slot is free, holding
/// `ticket`'s admission throughout. The slot is held until `f` returns, even
/// if the client goes away (the call cannot be interrupted half-way anyway).
pub(crate) async fn run_admitted<T: Send + 'static>(
    state: &Arc<AppState>,
    ticket: Ticket,
    f: impl FnOnce(&mung_runtime::Runtime) -> T + Send + 'static,
) -> Result<T, Problem> {
    state.metrics.queued(1);
    let slot = state.admission.run_slot().await;
    state.metrics.queued(-1);
    state.metrics.busy(1);
    let runtime = state.runtime.clone();
    let result = tokio::task::spawn_blocking(move || {
        let value = f(&runtime);
        drop(slot);
        drop(ticket);
        value
    })
    .await;
    state.metrics.busy(-1);
    result.map_err(|e| {
        tracing::error!(error = %e, "a sandbox call panicked");
        Problem::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the call failed unexpectedly (a bug in mung-runtime); the server goes on",
        )
    })
}

/// [`run_admitted`] with a fresh admission.
pub(crate) async fn run<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&mung_runtime::Runtime) -> T + Send + 'static,
) -> Result<T, Problem> {
    let ticket = state.admission.admit()?;
    run_admitted(state, ticket, f).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_jobs_plus_queue_requests_are_turned_away() {
        let a = Admission::new(2, 3);
        let held: Vec<_> = (0..5).map(|_| a.admit().expect("room for 5")).collect();
        let busy = a.admit().err().expect("the sixth is refused");
        assert_eq!(busy.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.retry_after, Some(1));
        drop(held);
        assert!(a.admit().is_ok(), "room again once requests finish");
        let _one = a.run_slot().await;
        let _two = a.run_slot().await;
        let third = tokio::time::timeout(std::time::Duration::from_millis(50), a.run_slot()).await;
        assert!(third.is_err(), "only `jobs` run at once");
    }
}
