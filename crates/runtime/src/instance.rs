//! One sandboxed instance of the component, and the driver that runs a call
//! on it under the call's limits.

use std::time::{Duration, Instant};

use wasmtime::Store;

use crate::bindings;
use crate::error::{Error, SandboxError};
use crate::output::{Output, take_output};
use crate::pool::SlotPermit;
use crate::python::Usage;
use crate::sandbox::State;

/// The limits of one call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallLimits {
    pub deadline: Duration,
    pub fuel: Option<u64>,
}

/// A live instance of the component.
pub(crate) struct Instance {
    store: Store<State>,
    api: bindings::Runtime,
    /// False once a call was stopped: the instance must not run again.
    healthy: bool,
    /// What the last call cost.
    usage: Usage,
    /// Declared after `store`, so it drops after it: the pooling allocator
    /// has its slot back before another instance may take the permit.
    _slot: SlotPermit,
}

impl Instance {
    pub(crate) fn instantiate(
        tokio: &tokio::runtime::Handle,
        pre: &bindings::RuntimePre<State>,
        state: State,
        slot: SlotPermit,
        fuel: bool,
    ) -> Result<Instance, Error> {
        let mut store = Store::new(pre.engine(), state);
        store.limiter(|s| &mut s.limiter);
        // What one call may copy out of the guest (its result): wasmtime's
        // default of 128 MiB refused the issues of a large document. The
        // guest's memory cap bounds such a result already.
        let memory_limit = store.data().limiter.memory_limit;
        store.set_hostcall_fuel(usize::try_from(memory_limit).unwrap_or(usize::MAX));
        // Yield to the executor at every epoch tick: that is when the
        // call's deadline (a tokio timeout) gets a chance to fire.
        store.epoch_deadline_async_yield_and_update(1);
        if fuel {
            store.set_fuel(u64::MAX).map_err(Error::wasmtime("setting fuel"))?;
        }
        let api = tokio
            .block_on(pre.instantiate_async(&mut store))
            .map_err(Error::wasmtime("instantiating the component"))?;
        Ok(Instance { store, api, healthy: true, usage: Usage::default(), _slot: slot })
    }

    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy
    }

    /// Sets how many bytes the guest may still write to its grants.
    pub(crate) fn set_write_quota(&self, bytes: u64) {
        self.store.data().write_quota.set(bytes);
    }

    /// What the last call cost.
    pub(crate) fn usage(&self) -> Usage {
        self.usage
    }

    /// What the guest printed since the last call to this.
    pub(crate) fn take_output(&self) -> Output {
        let state = self.store.data();
        take_output(&state.stdout, &state.stderr)
    }

    /// Runs `f` under `limits`. A call that traps, exits or passes its
    /// deadline marks the instance unhealthy.
    pub(crate) fn call<R>(
        &mut self,
        tokio: &tokio::runtime::Handle,
        limits: CallLimits,
        f: impl AsyncFnOnce(&mut Store<State>, &bindings::Runtime) -> wasmtime::Result<R>,
    ) -> Result<R, SandboxError> {
        if !self.healthy {
            return Err(SandboxError::Stopped);
        }
        if let Some(fuel) = limits.fuel {
            self.store.set_fuel(fuel).map_err(|source| SandboxError::Trap { source })?;
        }
        self.store.set_epoch_deadline(1);
        self.store.data_mut().limiter.hit = false;
        let _ = self.store.data().stderr.take_exit_mark();
        let start = Instant::now();
        let store = &mut self.store;
        let api = &self.api;
        let result = tokio.block_on(async move { tokio::time::timeout(limits.deadline, f(store, api)).await });
        self.usage = Usage {
            wall: start.elapsed(),
            memory_peak_bytes: self.store.data().limiter.held,
            fuel: limits.fuel.map(|given| given.saturating_sub(self.store.get_fuel().unwrap_or(0))),
        };
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                self.healthy = false;
                Err(self.classify(error, limits))
            }
            Err(_elapsed) => {
                self.healthy = false;
                tracing::debug!(elapsed = ?start.elapsed(), "call stopped at its deadline");
                Err(SandboxError::Timeout { limit: limits.deadline })
            }
        }
    }

    fn classify(&self, error: wasmtime::Error, limits: CallLimits) -> SandboxError {
        if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
            // WASI 0.2 only says ok (0) or error (1); the prelude's
            // `os._exit` announced the real status on stderr first.
            let code = match self.store.data().stderr.take_exit_mark() {
                Some(mark) if (mark == 0) == (exit.0 == 0) => mark,
                _ => exit.0,
            };
            return SandboxError::Exit { code };
        }
        if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::OutOfFuel) {
            return SandboxError::OutOfFuel { limit: limits.fuel.unwrap_or(0) };
        }
        let state = self.store.data();
        if state.limiter.hit {
            return SandboxError::MemoryLimit { limit: state.limiter.memory_limit, source: error };
        }
        SandboxError::Trap { source: error }
    }
}
