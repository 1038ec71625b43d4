//! Bounded admission: a fixed number of sandbox calls at once, a bounded
//! queue behind them, and an immediate "busy" past that.
//!
//! A request is admitted *before* its body is read ([`admit`], a route
//! layer), so a full server answers 503 at once without buffering anything;
//! the admitted request then reads its body, and does all its decoding,
//! sandbox work and encoding on a blocking thread once a sandbox slot is
//! free ([`Admitted::run`]). Memory is thereby bounded by
//! `(jobs + queue) × max_body` for bodies plus `jobs ×` what one call
//! decodes.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::AppState;
use crate::body::read_body;
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

    /// Whether a new request would be admitted now.
    pub(crate) fn has_room(&self) -> bool {
        self.admitted.available_permits() > 0
    }

    /// Waits for a running slot.
    pub(crate) async fn run_slot(&self) -> OwnedSemaphorePermit {
        self.running.clone().acquire_owned().await.expect("the semaphore is never closed")
    }
}

/// Where [`admit`] leaves the ticket for the handler (extensions must be
/// `Clone`; the ticket is taken out exactly once).
#[derive(Clone)]
struct TicketSlot(Arc<Mutex<Option<Ticket>>>);

/// A route layer: admits the request before anything reads its body, or
/// answers 503 with `Retry-After` at once.
pub(crate) async fn admit(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    match state.admission.admit() {
        Ok(ticket) => {
            request.extensions_mut().insert(TicketSlot(Arc::new(Mutex::new(Some(ticket)))));
            next.run(request).await
        }
        Err(busy) => busy.into_response(),
    }
}

/// The admission of a request that went through [`admit`].
pub(crate) struct Admitted(Ticket);

impl<S: Send + Sync> FromRequestParts<S> for Admitted {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<TicketSlot>()
            .and_then(|slot| slot.0.lock().unwrap_or_else(|p| p.into_inner()).take())
            .map(Admitted)
            .ok_or_else(|| Problem::internal("a sandbox route is missing its admission layer (a bug in mung-runtime)"))
    }
}

impl Admitted {
    /// Runs `f` on a blocking thread once a sandbox slot is free, holding the
    /// admission throughout. The slot is held until `f` returns, even if the
    /// client goes away (a call cannot be interrupted half-way anyway).
    pub(crate) async fn run<T: Send + 'static>(
        self,
        state: &Arc<AppState>,
        f: impl FnOnce(&mung_runtime::Runtime) -> T + Send + 'static,
    ) -> Result<T, Problem> {
        let ticket = self.0;
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
            Problem::internal("the call failed unexpectedly (a bug in mung-runtime); the server goes on")
        })
    }
}

impl Admitted {
    /// The whole of a sandbox route: `check` the request head (media type,
    /// sizes) before anything is read, read the body (bounded, see
    /// [`read_body`]), then run `f` with it on a blocking thread once a
    /// sandbox slot is free: parsing, decoding, the call and encoding the
    /// answer all happen there, never on the async workers.
    pub(crate) async fn call(
        self,
        state: &Arc<AppState>,
        request: Request,
        check: impl FnOnce(&Parts) -> Result<(), Problem>,
        f: impl FnOnce(&mung_runtime::Runtime, Parts, Bytes) -> Result<Response, Problem> + Send + 'static,
    ) -> Result<Response, Problem> {
        let (parts, body) = request.into_parts();
        check(&parts)?;
        let bytes = read_body(&parts.headers, body, state.config.max_body, state.config.idle_timeout).await?;
        self.run(state, move |runtime| f(runtime, parts, bytes)).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_jobs_plus_queue_requests_are_turned_away() {
        let a = Admission::new(2, 3);
        let held: Vec<_> = (0..5).map(|_| a.admit().expect("room for 5")).collect();
        assert!(!a.has_room());
        let busy = a.admit().err().expect("the sixth is refused");
        assert_eq!(busy.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.retry_after, Some(1));
        drop(held);
        assert!(a.has_room());
        assert!(a.admit().is_ok(), "room again once requests finish");
        let _one = a.run_slot().await;
        let _two = a.run_slot().await;
        let third = tokio::time::timeout(std::time::Duration::from_millis(50), a.run_slot()).await;
        assert!(third.is_err(), "only `jobs` run at once");
    }
}
