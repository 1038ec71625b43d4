//! Fresh instances made ahead of time, and used ones dropped, on a
//! background thread while no fresh call runs: the two costs of a fresh
//! call that do not depend on its code.
//!
//! A fresh call pays more than its own work: the new instance reseeds its
//! random generators (numpy's alone is ~0.2 ms here), the first touch of
//! each snapshot page copies it, and after the call the pooling allocator
//! resets the slot (`madvise`, TLB shootdowns). Neither cost depends on the
//! call, so a [`Preparer`] pays them between calls: it keeps a few instances
//! booted, never used, for the next fresh calls to take, and drops the
//! instances those calls leave behind. A prepared instance has only run the
//! runtime's own start-up (the boot every fresh instance runs before its
//! first call, then one `execute` of `None` whose name, compiled code and
//! namespace are forgotten as between a session's scripts), so a call on it
//! sees nothing of any other call.
//!
//! It works only while no fresh call runs. Instances made and dropped
//! concurrently in one process slow each other down badly: every
//! copy-on-write fault and every reset then needs a TLB shootdown on the
//! other core (measured: back-to-back fresh calls from one thread took 2.3–3.1
//! ms each with a preparer running beside them, against 1.2 ms without one).
//! So under load the calls make and drop their instances themselves, as
//! without a preparer; one call that finds the preparer at work waits for the
//! instance it is making rather than making a second one beside it (a second
//! such call makes its own: queueing them all behind one thread measured
//! p99 30 ms and 503s at 800 req/s in `serve`).
//!
//! Only `execute` takes prepared instances. Typed calls under
//! [`Isolation::Fresh`](crate::Isolation::Fresh) never enter the interpreter,
//! so a booted instance costs more to make than such a call; they make their
//! own and are only counted (and their instances dropped) here.
//!
//! The preparer never competes with calls for a slot: it takes one only
//! while no call waits for one, and calls that need a slot for something
//! else evict prepared instances first.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::bindings;
use crate::instance::{CallLimits, Instance};
use crate::pool::{InstanceConfig, Slots};
use crate::sandbox::State;

/// How long the preparer sleeps when every slot is taken before it looks
/// again (a freed slot does not wake it).
const SLOT_POLL: Duration = Duration::from_millis(20);

/// How long no fresh call must have run before the preparer starts. A
/// client that calls again at once (a loop, a busy server) makes and drops
/// its instances itself, with no hand-over between threads, which measured
/// 15–20% faster for back-to-back calls than having them prepared.
const IDLE_DELAY: Duration = Duration::from_millis(1);

/// What the preparer needs to make instances on its own.
pub(crate) struct Recipe {
    pub(crate) pre: bindings::RuntimePre<State>,
    pub(crate) config: InstanceConfig,
    pub(crate) slots: Arc<Slots>,
    pub(crate) limits: CallLimits,
    pub(crate) tokio: tokio::runtime::Handle,
}

/// The background preparer of one pool (see the module docs). Its thread
/// starts with the first fresh call.
pub(crate) struct Preparer {
    shared: Arc<Shared>,
    /// How many instances to keep ready; 0 turns the preparer off.
    target: usize,
    recipe: Mutex<Option<Recipe>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<Queue>,
    /// Wakes the preparer (work to do) and callers waiting for it.
    changed: Condvar,
}

#[derive(Default)]
struct Queue {
    /// Booted instances no call has used.
    ready: Vec<Instance>,
    /// An instance whose call was the last one running, to be dropped.
    retired: Vec<Instance>,
    /// Fresh calls running now (between [`Preparer::begin`] and
    /// [`Preparer::retire`]).
    running: usize,
    /// The preparer is making or dropping an instance.
    busy: bool,
    /// A call waits for the instance the preparer is making.
    waiter: bool,
    /// When the last fresh call ended, if none runs now.
    idle_since: Option<Instant>,
    /// The thread runs; false before the first fresh call, after
    /// [`Preparer::stop`], and when preparing failed.
    active: bool,
    stop: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock cannot leave the lists inconsistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&'a self, queue: MutexGuard<'a, Queue>, timeout: Option<Duration>) -> MutexGuard<'a, Queue> {
        match timeout {
            Some(t) => self.changed.wait_timeout(queue, t).unwrap_or_else(|p| p.into_inner()).0,
            None => self.changed.wait(queue).unwrap_or_else(|p| p.into_inner()),
        }
    }
}

impl Preparer {
    pub(crate) fn new(recipe: Recipe, target: usize) -> Preparer {
        Preparer {
            shared: Arc::new(Shared { state: Mutex::new(Queue::default()), changed: Condvar::new() }),
            target,
            recipe: Mutex::new(Some(recipe)),
            thread: Mutex::new(None),
        }
    }

    /// Begins a fresh call. One that runs Python (`wants_prepared`) gets a
    /// prepared instance if one is ready or about to be; otherwise, and for
    /// a typed call (which never enters the interpreter, so a booted instance
    /// costs more to make than it saves), `None`: the caller makes its own.
    /// Either way the call is counted (the preparer keeps still while it
    /// runs) and must end with [`Self::retire`], with or without its instance.
    pub(crate) fn begin(&self, wants_prepared: bool) -> Option<Instance> {
        if self.target == 0 {
            return None;
        }
        if wants_prepared {
            self.start();
        }
        let mut queue = self.shared.lock();
        let mut waits = false;
        loop {
            if wants_prepared && let Some(instance) = queue.ready.pop() {
                queue.waiter &= !waits;
                queue.running += 1;
                queue.idle_since = None;
                return Some(instance);
            }
            // One call waits for the instance the preparer is making; any
            // other makes its own rather than queue behind it.
            if wants_prepared && queue.busy && (waits || !queue.waiter) {
                queue.waiter = true;
                waits = true;
                queue = self.shared.wait(queue, None);
                continue;
            }
            queue.waiter &= !waits;
            // This call makes its own instance, and drops the used ones
            // first if the preparer has not started on them (their slots).
            queue.running += 1;
            queue.idle_since = None;
            let retired = if queue.busy { Vec::new() } else { std::mem::take(&mut queue.retired) };
            drop(queue);
            drop(retired);
            return None;
        }
    }

    /// Ends a fresh call begun with [`Self::begin`]. The instance is dropped
    /// by the preparer when this was the last call running, else here.
    pub(crate) fn retire(&self, instance: Option<Instance>) {
        if self.target == 0 {
            return drop(instance);
        }
        let mut queue = self.shared.lock();
        queue.running = queue.running.saturating_sub(1);
        if queue.running > 0 || !queue.active {
            drop(queue);
            return drop(instance);
        }
        queue.retired.extend(instance);
        queue.idle_since = Some(Instant::now());
        drop(queue);
        self.shared.changed.notify_all();
    }

    /// Drops one prepared (or retired) instance to give its slot to a call;
    /// false when there is none.
    pub(crate) fn evict_one(&self) -> bool {
        let mut queue = self.shared.lock();
        let instance = queue.ready.pop().or_else(|| queue.retired.pop());
        drop(queue);
        instance.is_some()
    }

    /// How many prepared instances are ready.
    pub(crate) fn ready_count(&self) -> usize {
        self.shared.lock().ready.len()
    }

    /// Stops the thread, which drops every instance it holds; waits for the
    /// instance it is making, if any (bounded by the call deadline). Without
    /// the thread nothing is held: [`Self::retire`] then drops at once.
    pub(crate) fn stop(&self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    fn start(&self) {
        let mut thread = self.thread.lock().unwrap_or_else(|p| p.into_inner());
        if thread.is_some() {
            return;
        }
        let Some(recipe) = self.recipe.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let shared = self.shared.clone();
        let target = self.target;
        let mut queue = self.shared.lock();
        if queue.stop {
            return;
        }
        match std::thread::Builder::new()
            .name("mung-runtime-prepare".into())
            .spawn(move || run(&shared, &recipe, target))
        {
            Ok(handle) => {
                queue.active = true;
                *thread = Some(handle);
            }
            // Without the thread, fresh calls make their instances themselves.
            Err(e) => tracing::warn!(error = %e, "cannot start the thread that prepares fresh instances"),
        }
    }
}

impl Drop for Preparer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The preparer's loop: while no fresh call runs, drop what was retired,
/// then top up the ready list.
fn run(shared: &Shared, recipe: &Recipe, target: usize) {
    // However the thread ends (a panic included), calls must not wait for it.
    let _finish = Finish(shared);
    let mut queue = shared.lock();
    loop {
        if queue.stop {
            return;
        }
        if queue.running > 0 {
            queue = shared.wait(queue, None);
            continue;
        }
        let work = !queue.retired.is_empty() || queue.ready.len() < target;
        if let Some(wait) = queue.idle_since.and_then(|t| IDLE_DELAY.checked_sub(t.elapsed()))
            && work
        {
            queue = shared.wait(queue, Some(wait));
            continue;
        }
        if !queue.retired.is_empty() {
            queue.busy = true;
            let retired = std::mem::take(&mut queue.retired);
            drop(queue);
            drop(retired);
            queue = shared.lock();
            // Still busy: the next step may prepare an instance, which a
            // waiting caller would rather take than make its own.
            if queue.ready.len() >= target || queue.running > 0 {
                queue.busy = false;
                shared.changed.notify_all();
            }
            continue;
        }
        if queue.ready.len() < target {
            queue.busy = true;
            drop(queue);
            let made = prepare(recipe);
            queue = shared.lock();
            queue.busy = false;
            match made {
                Prepared::Ready(instance) => queue.ready.push(*instance),
                Prepared::NoSlot => {
                    shared.changed.notify_all();
                    queue = shared.wait(queue, Some(SLOT_POLL));
                    continue;
                }
                // A boot that fails keeps failing (a configuration the
                // interpreter cannot start in): fresh calls report the error
                // themselves from now on.
                Prepared::Failed => return,
            }
            shared.changed.notify_all();
            continue;
        }
        queue = shared.wait(queue, None);
    }
}

/// When the preparer's thread ends, however it ends: marks it gone (later
/// calls drop their instances themselves), wakes waiting calls and drops
/// every instance it held.
struct Finish<'a>(&'a Shared);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.lock();
        queue.active = false;
        queue.busy = false;
        let held = (std::mem::take(&mut queue.ready), std::mem::take(&mut queue.retired));
        drop(queue);
        self.0.changed.notify_all();
        drop(held);
    }
}

enum Prepared {
    Ready(Box<Instance>),
    NoSlot,
    Failed,
}

/// Makes one instance and starts it as a fresh call would, then runs one
/// `execute` and forgets it, so that the pages a call writes first are
/// copied now rather than during the call.
fn prepare(recipe: &Recipe) -> Prepared {
    let Some(slot) = recipe.slots.try_acquire_unwanted() else {
        return Prepared::NoSlot;
    };
    let made = recipe
        .config
        .state()
        .and_then(|state| Instance::instantiate(&recipe.tokio, &recipe.pre, state, slot, recipe.limits.fuel.is_some()));
    let mut instance = match made {
        Ok(instance) => instance,
        Err(e) => {
            tracing::warn!(error = %e, "preparing a fresh instance failed; fresh calls make their own");
            return Prepared::Failed;
        }
    };
    let started = instance.call(&recipe.tokio, recipe.limits, async |store, api| {
        let python = api.mung_runtime_python();
        if let Err(e) = python.call_execute(&mut *store, "None", "{}").await? {
            wasmtime::bail!("{}", e.message);
        }
        python.call_reset(store).await
    });
    let _ = instance.take_output();
    match started {
        Ok(()) if instance.is_healthy() => Prepared::Ready(Box::new(instance)),
        Ok(()) => Prepared::Failed,
        Err(e) => {
            tracing::warn!(error = %e, "starting a prepared fresh instance failed; fresh calls make their own");
            Prepared::Failed
        }
    }
}
