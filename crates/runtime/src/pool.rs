//! The instance pool behind a [`Runtime`](crate::Runtime): pool slots, warm
//! instances, and running one call on an instance.
//!
//! Every instance holds a slot, so that instances never outnumber what the
//! pooling allocator was sized for. Warm instances serve the typed calls and
//! go back to the pool after a call that finished normally.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::bindings;
use crate::error::{Error, ExecError, ExecFailure, PythonError, PythonErrorKind, SandboxError};
use crate::instance::{CallLimits, Instance};
use crate::output::{Output, OutputSink};
use crate::prepared::{Preparer, Recipe};
use crate::python::Execution;
use crate::sandbox::{Layout, State};

/// Attempts [`Pool::warm_up`] makes per requested instance before it gives up.
const WARM_UP_ATTEMPTS_PER_INSTANCE: usize = 3;

/// Warm instances holding more linear memory than this after a call are
/// dropped instead of kept: one large page or document must not keep its
/// memory for the life of the process. A warm instance after ordinary
/// calls holds well under it (the snapshot's heap plus a document).
pub(crate) const KEEP_WARM_MAX_MEMORY: u64 = 256 << 20;

/// How the typed calls ([`Runtime::validate`](crate::Runtime::validate), the
/// extraction methods) get their instance. [`Runtime::execute`](crate::Runtime::execute)
/// is always fresh, and a [`Session`](crate::Session) always keeps one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Isolation {
    /// Reuse warm instances from a pool (fast; the default). Our own Python
    /// code runs there, so no state of interest carries over.
    #[default]
    Warm,
    /// A new instance from the snapshot for every call, discarded after it.
    Fresh,
}

/// What a new instance is made with: its mounts and the caps of its store.
/// The pool has one; a session derives its own with [`InstanceConfig::with`].
#[derive(Clone)]
pub(crate) struct InstanceConfig {
    pub(crate) layout: Layout,
    pub(crate) memory_limit: u64,
    pub(crate) output_limit: usize,
    pub(crate) write_quota: u64,
    pub(crate) stdout_sink: Option<OutputSink>,
    pub(crate) stderr_sink: Option<OutputSink>,
}

impl InstanceConfig {
    /// The same configuration with other mounts and caps (a session's).
    pub(crate) fn with(&self, layout: Layout, memory_limit: u64, write_quota: u64) -> InstanceConfig {
        InstanceConfig { layout, memory_limit, write_quota, ..self.clone() }
    }

    /// The store state of one new instance.
    pub(crate) fn state(&self) -> Result<State, Error> {
        State::new(
            &self.layout,
            self.memory_limit,
            self.output_limit,
            self.write_quota,
            self.stdout_sink.clone(),
            self.stderr_sink.clone(),
        )
    }
}

/// How a [`Pool`] hands out instances and bounds its calls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolSettings {
    pub(crate) isolation: Isolation,
    /// The most instances alive at once (the pooling allocator's size).
    pub(crate) max_instances: u32,
    /// How long a call waits for a free slot before it fails.
    pub(crate) acquire_timeout: Duration,
    /// The limits of every call.
    pub(crate) limits: CallLimits,
    /// Fresh instances to keep booted ahead of time (see [`crate::prepared`]).
    pub(crate) prepared: usize,
}

/// Instances of one compiled component, and the settings every call gets.
pub(crate) struct Pool {
    pre: bindings::RuntimePre<State>,
    instance: InstanceConfig,
    settings: PoolSettings,
    slots: Arc<Slots>,
    idle: Mutex<Vec<Instance>>,
    /// Fresh instances booted ahead of time, and used ones being dropped.
    preparer: Preparer,
    /// The cache entries the instances mount, marked in use (`cache clean`
    /// skips them) for as long as the pool lives.
    _cache_holds: Vec<Arc<mung_runtime_python_wasm::FileLock>>,
    /// Drives wasmtime's async calls; `Option` only so that `Drop` can shut
    /// it down without blocking (it may be dropped from async code).
    tokio: Option<tokio::runtime::Runtime>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Instances go first: they may hold timers of the async runtime.
        self.preparer.stop();
        self.idle.get_mut().unwrap_or_else(|p| p.into_inner()).clear();
        if let Some(tokio) = self.tokio.take() {
            tokio.shutdown_background();
        }
    }
}

impl Pool {
    pub(crate) fn new(
        pre: bindings::RuntimePre<State>,
        instance: InstanceConfig,
        settings: PoolSettings,
        cache_holds: Vec<Arc<mung_runtime_python_wasm::FileLock>>,
        tokio: tokio::runtime::Runtime,
    ) -> Pool {
        let slots = Slots::new(settings.max_instances);
        let recipe = Recipe {
            pre: pre.clone(),
            config: instance.clone(),
            slots: slots.clone(),
            limits: settings.limits,
            tokio: tokio.handle().clone(),
        };
        Pool {
            pre,
            instance,
            slots,
            preparer: Preparer::new(recipe, settings.prepared),
            settings,
            idle: Mutex::new(Vec::new()),
            _cache_holds: cache_holds,
            tokio: Some(tokio),
        }
    }

    /// The compiled, linked component instances are made from.
    #[cfg(feature = "bench-internals")]
    pub(crate) fn pre(&self) -> &bindings::RuntimePre<State> {
        &self.pre
    }

    /// What the pool's own instances are made with.
    pub(crate) fn instance_config(&self) -> &InstanceConfig {
        &self.instance
    }

    /// The limits of every call (a session may lower them).
    pub(crate) fn limits(&self) -> CallLimits {
        self.settings.limits
    }

    pub(crate) fn tokio(&self) -> &tokio::runtime::Handle {
        self.tokio.as_ref().expect("the async runtime lives as long as the pool").handle()
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        // A panic while holding the lock cannot leave the list inconsistent.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A free slot, waiting at most the acquire timeout: slots held by
    /// live sessions are only given back when those end, possibly never (a
    /// session kept by the very thread that waits).
    pub(crate) fn acquire_slot(&self) -> Result<SlotPermit, Error> {
        let start = Instant::now();
        loop {
            if let Some(permit) = self.slots.try_acquire() {
                return Ok(permit);
            }
            // Every slot is taken: give up a warm or a prepared instance if
            // there is one.
            if let Some(instance) = self.idle().pop() {
                drop(instance);
                continue;
            }
            if self.preparer.evict_one() {
                continue;
            }
            let left = self.settings.acquire_timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(Error::AllInstancesBusy {
                    max_instances: self.settings.max_instances,
                    waited: start.elapsed(),
                });
            }
            // Wake up now and then: a warm instance may have come back idle.
            if let Some(permit) = self.slots.acquire_timeout(left.min(Duration::from_millis(200))) {
                return Ok(permit);
            }
        }
    }

    /// A new instance from the component, waiting for a free slot.
    pub(crate) fn new_instance(&self) -> Result<Instance, Error> {
        self.new_instance_with(&self.instance)
    }

    /// An instance no call has used, for a call that runs Python
    /// (`wants_prepared`: a prepared one when one is ready, see
    /// [`crate::prepared`]) or a typed call (always a new one). Hand it to
    /// [`Self::retire`] after its call.
    pub(crate) fn fresh_instance(&self, wants_prepared: bool) -> Result<Instance, Error> {
        match self.preparer.begin(wants_prepared) {
            Some(instance) => Ok(instance),
            None => self.new_instance().inspect_err(|_| self.preparer.retire(None)),
        }
    }

    /// Ends the call of an instance from [`Self::fresh_instance`]: drops it,
    /// off the caller's path when no other fresh call runs.
    pub(crate) fn retire(&self, instance: Instance) {
        self.preparer.retire(Some(instance));
    }

    /// How many fresh instances are prepared right now.
    pub(crate) fn prepared_count(&self) -> usize {
        self.preparer.ready_count()
    }

    /// [`Self::new_instance`] with another configuration (a session's).
    pub(crate) fn new_instance_with(&self, config: &InstanceConfig) -> Result<Instance, Error> {
        let slot = self.acquire_slot()?;
        Instance::instantiate(self.tokio(), &self.pre, config.state()?, slot, self.settings.limits.fuel.is_some())
    }

    /// Makes up to `n` warm instances; each must answer one call first.
    /// Gives up after a bounded number of attempts (e.g. when the deadline is
    /// too short for an instance to boot). Under [`Isolation::Fresh`] no
    /// instance is ever reused, so this only checks that one boots and
    /// keeps none (a kept one would hold a slot for nothing).
    pub(crate) fn warm_up(&self, n: usize) -> Result<(), Error> {
        let n = match self.settings.isolation {
            Isolation::Warm => n.min(self.settings.max_instances as usize),
            Isolation::Fresh => n.min(1),
        };
        let mut booted = Vec::new();
        let mut attempts = 0;
        let mut last_error = None;
        while self.idle().len() + booted.len() < n {
            if attempts == n * WARM_UP_ATTEMPTS_PER_INSTANCE {
                self.keep_warm(booted);
                return Err(Error::WarmUp { attempts: attempts as u32, source: last_error.map(Box::new) });
            }
            attempts += 1;
            let mut instance = self.new_instance()?;
            // The first call loads the prelude; make it now.
            let result = instance.call(self.tokio(), self.settings.limits, async |store, api| {
                api.mung_runtime_python().call_reset(store).await
            });
            match result {
                Ok(()) if instance.is_healthy() => booted.push(instance),
                Ok(()) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "a warm-up instance failed; trying another");
                    last_error = Some(e);
                }
            }
        }
        self.keep_warm(booted);
        Ok(())
    }

    /// Keeps booted instances idle, unless the pool never reuses them.
    fn keep_warm(&self, instances: Vec<Instance>) {
        if self.settings.isolation == Isolation::Warm {
            self.idle().extend(instances);
        }
    }

    /// How many warm instances are idle right now.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle().len()
    }

    /// Runs a typed call on a warm instance (a new one under
    /// [`Isolation::Fresh`]), which goes back to the pool unless the call
    /// stopped it.
    pub(crate) fn with_warm<R>(
        &self,
        f: impl AsyncFnOnce(&mut wasmtime::Store<State>, &bindings::Runtime) -> wasmtime::Result<R>,
    ) -> Result<R, SandboxError> {
        let warm = self.settings.isolation == Isolation::Warm;
        // (The idle list's lock must be released before `new_instance`,
        // which may take it to evict an instance.)
        let idle = if warm { self.idle().pop() } else { None };
        let mut instance = match idle {
            Some(instance) => instance,
            None if warm => self.new_instance()?,
            // Typed calls never enter the interpreter: a prepared (booted)
            // instance is not for them.
            None => self.fresh_instance(false)?,
        };
        let result = instance.call(self.tokio(), self.settings.limits, f);
        let output = instance.take_output();
        if !output.stderr.is_empty() || !output.stdout.is_empty() {
            tracing::debug!(stdout = %output.stdout_text(), stderr = %output.stderr_text(), "guest output");
        }
        // An instance whose memory grew past the bound is dropped rather than
        // kept warm: wasm memories never shrink, and dropping it gives the
        // pages back (the pooling allocator decommits a freed slot).
        let small = instance.usage().memory_peak_bytes <= KEEP_WARM_MAX_MEMORY;
        if warm && small && instance.is_healthy() {
            self.idle().push(instance);
        } else if !warm {
            self.retire(instance);
        }
        result
    }

    /// Runs a snippet on `instance` under `limits` and converts its answer.
    pub(crate) fn execute_on(
        &self,
        instance: &mut Instance,
        limits: CallLimits,
        code: &str,
        globals: &str,
    ) -> Result<Execution, ExecError> {
        let result = instance.call(self.tokio(), limits, async |store, api| {
            api.mung_runtime_python().call_execute(store, code, globals).await
        });
        let output = instance.take_output();
        let usage = instance.usage();
        let failure = match result {
            // The value is bound by the same cap as stdout and stderr; it is
            // refused, not cut (cut JSON is not JSON), and never parsed.
            Ok(Ok(json)) if json.len() > self.instance.output_limit => ExecFailure::Python(PythonError {
                kind: PythonErrorKind::ValueTooLarge,
                type_name: "ValueError".into(),
                message: format!(
                    "the value of the last expression is {} bytes of JSON, more than the output limit of {} bytes; \
                     it was dropped (write large results to a granted directory instead)",
                    json.len(),
                    self.instance.output_limit
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

    /// Forgets the names a session defined on `instance`.
    pub(crate) fn reset_on(&self, instance: &mut Instance) -> Result<(), SandboxError> {
        let result = instance.call(self.tokio(), self.settings.limits, async |store, api| {
            api.mung_runtime_python().call_reset(store).await
        });
        let _ = instance.take_output();
        result
    }
}

/// A counting semaphore over pool slots, so that instances never exceed what
/// the pooling allocator was sized for.
#[derive(Debug)]
pub(crate) struct Slots {
    count: Mutex<SlotCount>,
    freed: Condvar,
}

#[derive(Debug)]
struct SlotCount {
    free: u32,
    /// Callers waiting in [`Slots::acquire_timeout`].
    waiting: u32,
}

/// One held slot; released when dropped.
#[derive(Debug)]
pub(crate) struct SlotPermit {
    slots: Arc<Slots>,
}

impl Slots {
    pub(crate) fn new(n: u32) -> Arc<Slots> {
        Arc::new(Slots { count: Mutex::new(SlotCount { free: n, waiting: 0 }), freed: Condvar::new() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotCount> {
        // The count is updated in single statements: a panic cannot leave it half-done.
        self.count.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<SlotPermit> {
        let mut count = self.lock();
        if count.free == 0 {
            return None;
        }
        count.free -= 1;
        Some(SlotPermit { slots: self.clone() })
    }

    /// A free slot only if no caller is waiting for one (for work that can
    /// wait: preparing instances ahead of time).
    pub(crate) fn try_acquire_unwanted(self: &Arc<Self>) -> Option<SlotPermit> {
        let mut count = self.lock();
        if count.free == 0 || count.waiting > 0 {
            return None;
        }
        count.free -= 1;
        Some(SlotPermit { slots: self.clone() })
    }

    /// Waits up to `timeout` for a slot.
    pub(crate) fn acquire_timeout(self: &Arc<Self>, timeout: Duration) -> Option<SlotPermit> {
        let mut count = self.lock();
        count.waiting += 1;
        let (mut count, _) =
            self.freed.wait_timeout_while(count, timeout, |c| c.free == 0).unwrap_or_else(|p| p.into_inner());
        count.waiting -= 1;
        if count.free == 0 {
            return None;
        }
        count.free -= 1;
        Some(SlotPermit { slots: self.clone() })
    }
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        self.slots.lock().free += 1;
        self.slots.freed.notify_one();
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

    #[test]
    fn slots_are_counted_and_returned_on_drop() {
        let slots = Slots::new(2);
        let a = slots.try_acquire().expect("first slot");
        let b = slots.try_acquire().expect("second slot");
        assert!(slots.try_acquire().is_none(), "only two");
        assert!(slots.acquire_timeout(Duration::from_millis(10)).is_none(), "waits, then gives up");
        drop(a);
        let c = slots.try_acquire().expect("a dropped permit frees its slot");
        drop((b, c));
        assert_eq!(slots.lock().free, 2);
    }

    #[test]
    fn a_waiter_gets_the_slot_another_thread_frees() {
        let slots = Slots::new(1);
        let held = slots.try_acquire().unwrap();
        let waiter = {
            let slots = slots.clone();
            std::thread::spawn(move || slots.acquire_timeout(Duration::from_secs(30)).is_some())
        };
        std::thread::sleep(Duration::from_millis(20));
        drop(held);
        assert!(waiter.join().unwrap(), "woken by the drop, long before the timeout");
        assert_eq!(slots.lock().free, 1, "the waiter's permit was dropped with its thread");
    }

    #[test]
    fn work_that_can_wait_takes_no_slot_a_caller_waits_for() {
        let slots = Slots::new(2);
        let held = slots.try_acquire().unwrap();
        let spare = slots.try_acquire_unwanted().expect("nobody waits: a free slot may be taken");
        drop(spare);
        let other = slots.try_acquire().unwrap();
        let waiter = {
            let slots = slots.clone();
            std::thread::spawn(move || slots.acquire_timeout(Duration::from_secs(30)).is_some())
        };
        while slots.lock().waiting == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Hold the count so the waiter cannot take the slot before we look.
        let mut count = slots.lock();
        count.free += 1;
        drop(count);
        std::mem::forget(other);
        assert!(slots.try_acquire_unwanted().is_none(), "a caller waits: the slot is theirs");
        slots.freed.notify_one();
        assert!(waiter.join().unwrap());
        drop(held);
    }
}
