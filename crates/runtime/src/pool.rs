//! The instance pool behind a [`Runtime`](crate::Runtime): pool slots, warm
//! instances, and running one call on an instance.
//!
//! Every instance holds a slot, so that instances never outnumber what the
//! pooling allocator was sized for. Warm instances serve the typed calls and
//! go back to the pool after a call that finished normally.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::bindings;
use crate::builder::Isolation;
use crate::error::{Error, ExecError, ExecFailure, PythonError, PythonErrorKind, SandboxError};
use crate::output::{Output, OutputSink};
use crate::python::Execution;
use crate::sandbox::{Layout, State};
use crate::worker::{CallLimits, SlotPermit, Slots, Worker};

/// Attempts [`Pool::warm_up`] makes per requested instance before it gives up.
const WARM_UP_ATTEMPTS_PER_INSTANCE: usize = 3;

/// Warm instances holding more linear memory than this after a call are
/// dropped instead of kept: one large page or document must not keep its
/// memory for the life of the process. A warm instance after ordinary
/// calls holds well under it (the snapshot's heap plus a document).
pub(crate) const KEEP_WARM_MAX_MEMORY: u64 = 256 << 20;

/// Instances of one compiled component, and the settings every call gets.
pub(crate) struct Pool {
    pub(crate) pre: bindings::RuntimePre<State>,
    pub(crate) layout: Layout,
    pub(crate) limits: CallLimits,
    pub(crate) memory_limit: u64,
    pub(crate) isolation: Isolation,
    pub(crate) output_limit: usize,
    pub(crate) write_quota: u64,
    pub(crate) stdout_sink: Option<OutputSink>,
    pub(crate) stderr_sink: Option<OutputSink>,
    pub(crate) slots: std::sync::Arc<Slots>,
    pub(crate) idle: Mutex<Vec<Worker>>,
    pub(crate) max_instances: u32,
    /// How long a call waits for a free slot before it fails.
    pub(crate) acquire_timeout: Duration,
    /// The cache entries the instances mount, marked in use (`cache clean`
    /// skips them) for as long as the pool lives.
    pub(crate) _cache_holds: Vec<std::sync::Arc<mung_runtime_python_wasm::FileLock>>,
    /// Drives wasmtime's async calls; `Option` only so that `Drop` can shut
    /// it down without blocking (it may be dropped from async code).
    pub(crate) tokio: Option<tokio::runtime::Runtime>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Instances go first: they may hold timers of the async runtime.
        self.idle.get_mut().unwrap_or_else(|p| p.into_inner()).clear();
        if let Some(tokio) = self.tokio.take() {
            tokio.shutdown_background();
        }
    }
}

impl Pool {
    pub(crate) fn tokio(&self) -> &tokio::runtime::Runtime {
        self.tokio.as_ref().expect("the async runtime lives as long as the pool")
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Worker>> {
        // A panic while holding the lock cannot leave the list inconsistent.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A free slot, waiting at most [`Pool::acquire_timeout`]: slots held by
    /// live sessions are only given back when those end, possibly never (a
    /// session kept by the very thread that waits).
    pub(crate) fn acquire_slot(&self) -> Result<SlotPermit, Error> {
        let start = Instant::now();
        loop {
            if let Some(permit) = self.slots.try_acquire() {
                return Ok(permit);
            }
            // Every slot is taken: give up a warm instance if there is one.
            if let Some(worker) = self.idle().pop() {
                drop(worker);
                continue;
            }
            let left = self.acquire_timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(Error::AllInstancesBusy { max_instances: self.max_instances, waited: start.elapsed() });
            }
            // Wake up now and then: a warm instance may have come back idle.
            if let Some(permit) = self.slots.acquire_timeout(left.min(Duration::from_millis(200))) {
                return Ok(permit);
            }
        }
    }

    /// A new instance from the component, waiting for a free slot.
    pub(crate) fn new_worker(&self) -> Result<Worker, Error> {
        self.new_worker_in(&self.layout, self.memory_limit, self.write_quota)
    }

    /// [`Self::new_worker`] with other mounts and caps (a session's).
    pub(crate) fn new_worker_in(&self, layout: &Layout, memory_limit: u64, write_quota: u64) -> Result<Worker, Error> {
        let slot = self.acquire_slot()?;
        let state = State::new(
            layout,
            memory_limit,
            self.output_limit,
            write_quota,
            self.stdout_sink.clone(),
            self.stderr_sink.clone(),
        )?;
        Worker::instantiate(self.tokio(), &self.pre, state, slot, self.limits.fuel.is_some())
    }

    /// Makes up to `n` warm instances; each must answer one call first.
    /// Gives up after a bounded number of attempts (e.g. when the deadline is
    /// too short for an instance to boot).
    pub(crate) fn warm_up(&self, n: usize) -> Result<(), Error> {
        let n = n.min(self.max_instances as usize);
        let mut fresh = Vec::new();
        let mut attempts = 0;
        while self.idle().len() + fresh.len() < n {
            if attempts == n * WARM_UP_ATTEMPTS_PER_INSTANCE {
                self.idle().extend(fresh);
                return Err(Error::WarmUp { attempts: attempts as u32, source: None });
            }
            attempts += 1;
            let mut worker = self.new_worker()?;
            // The first call loads the prelude; make it now.
            let result = worker
                .call(self.tokio(), self.limits, async |store, api| api.mung_runtime_python().call_reset(store).await);
            match result {
                Ok(()) if worker.is_healthy() => fresh.push(worker),
                Ok(()) => {}
                Err(e) if attempts == n * WARM_UP_ATTEMPTS_PER_INSTANCE => {
                    self.idle().extend(fresh);
                    return Err(Error::WarmUp { attempts: attempts as u32, source: Some(Box::new(e)) });
                }
                Err(e) => tracing::debug!(error = %e, "a warm-up instance failed; trying another"),
            }
        }
        self.idle().extend(fresh);
        Ok(())
    }

    /// How many warm instances are idle right now.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle().len()
    }

    /// Runs a typed call on a warm instance, which goes back to the pool
    /// unless the call stopped it.
    pub(crate) fn with_warm<R>(
        &self,
        f: impl AsyncFnOnce(&mut wasmtime::Store<State>, &bindings::Runtime) -> wasmtime::Result<R>,
    ) -> Result<R, SandboxError> {
        let idle = match self.isolation {
            Isolation::Warm => self.idle().pop(),
            Isolation::Fresh => None,
        };
        let mut worker = match idle {
            Some(worker) => worker,
            None => self.new_worker()?,
        };
        let result = worker.call(self.tokio(), self.limits, f);
        let output = worker.take_output();
        if !output.stderr.is_empty() || !output.stdout.is_empty() {
            tracing::debug!(stdout = %output.stdout_text(), stderr = %output.stderr_text(), "guest output");
        }
        // An instance whose memory grew past the bound is dropped rather than
        // kept warm: wasm memories never shrink, and dropping it gives the
        // pages back (the pooling allocator decommits a freed slot).
        let keep = worker.usage().memory_peak_bytes <= KEEP_WARM_MAX_MEMORY;
        if worker.is_healthy() && self.isolation == Isolation::Warm && keep {
            self.idle().push(worker);
        }
        result
    }

    /// Runs a snippet on `worker` under `limits` and converts its answer.
    pub(crate) fn execute_on(
        &self,
        worker: &mut Worker,
        limits: CallLimits,
        code: &str,
        globals: &str,
    ) -> Result<Execution, ExecError> {
        let result = worker.call(self.tokio(), limits, async |store, api| {
            api.mung_runtime_python().call_execute(store, code, globals).await
        });
        let output = worker.take_output();
        let usage = worker.usage();
        let failure = match result {
            // The value is bound by the same cap as stdout and stderr; it is
            // refused, not cut (cut JSON is not JSON), and never parsed.
            Ok(Ok(json)) if json.len() > self.output_limit => ExecFailure::Python(PythonError {
                kind: PythonErrorKind::ValueTooLarge,
                type_name: "ValueError".into(),
                message: format!(
                    "the value of the last expression is {} bytes of JSON, more than the output limit of {} bytes; \
                     it was dropped (write large results to a granted directory instead)",
                    json.len(),
                    self.output_limit
                ),
                traceback: String::new(),
                exit_code: None,
            }),
            Ok(Ok(json)) => match serde_json::from_str(&json) {
                Ok(value) => return Ok(Execution { value, output, usage }),
                Err(e) => ExecFailure::Python(PythonError {
                    kind: PythonErrorKind::NotJson,
                    type_name: "ValueError".into(),
                    message: if e.to_string().contains("number out of range") {
                        format!(
                            "the value of the last expression holds a number JSON cannot carry here ({e}): \
                             integers must fit in 64 bits and floats in a double; convert such numbers with str() \
                             first"
                        )
                    } else {
                        format!("the value of the last expression cannot be read back as JSON ({e})")
                    },
                    traceback: String::new(),
                    exit_code: None,
                }),
            },
            Ok(Err(error)) => ExecFailure::Python(error.into()),
            Err(stop) => ExecFailure::Sandbox(stop),
        };
        Err(ExecError { failure, output, usage })
    }

    /// Forgets the names a session defined on `worker`.
    pub(crate) fn reset_on(&self, worker: &mut Worker) -> Result<(), SandboxError> {
        let result = worker
            .call(self.tokio(), self.limits, async |store, api| api.mung_runtime_python().call_reset(store).await);
        let _ = worker.take_output();
        result
    }
}

/// The globals of `execute` as a JSON object text.
pub(crate) fn globals_json(globals: &impl serde::Serialize) -> Result<String, ExecError> {
    let invalid = |message: String| ExecError {
        failure: ExecFailure::Python(PythonError {
            kind: PythonErrorKind::InvalidGlobals,
            type_name: "TypeError".into(),
            message,
            traceback: String::new(),
            exit_code: None,
        }),
        output: Output::default(),
        usage: Default::default(),
    };
    match serde_json::to_value(globals) {
        Ok(serde_json::Value::Object(map)) => Ok(serde_json::Value::Object(map).to_string()),
        Ok(serde_json::Value::Null) => Ok("{}".into()),
        Ok(other) => Err(invalid(format!("globals must be a JSON object, not {other}"))),
        Err(e) => Err(invalid(format!("globals cannot be serialised to JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globals_must_be_an_object_or_nothing() {
        assert_eq!(globals_json(&serde_json::json!({"x": 1})).unwrap(), r#"{"x":1}"#);
        assert_eq!(globals_json(&()).unwrap(), "{}");
        let err = globals_json(&[1, 2]).unwrap_err();
        assert!(matches!(&err.failure, ExecFailure::Python(p) if p.kind == PythonErrorKind::InvalidGlobals));
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), 3);
        assert!(globals_json(&map).is_err(), "non-string keys have no JSON form");
    }
}
