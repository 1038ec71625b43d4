//! The wasmtime engine: configuration, and the epoch ticker that lets long
//! calls yield so their deadline can fire.

use std::thread;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::error::Error;

/// How often the epoch advances. A running call yields to the executor once
/// per tick, which is when a deadline can take effect.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The wasm stack available to the guest. CPython on wasm32 recurses deeply
/// in native code (the parser, `repr`, ...).
pub(crate) const MAX_WASM_STACK: usize = 4 << 20;
/// The stack a call runs on: the wasm stack plus 1 MiB for host frames.
pub(crate) const ASYNC_STACK_SIZE: usize = MAX_WASM_STACK + (1 << 20);

/// What the engine is built from. Settings that change generated code
/// (`fuel`) are part of the compile cache key through
/// [`Engine::precompile_compatibility_hash`]; the pool sizes are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EngineSettings {
    /// Count instructions, so a call can be given a fuel budget.
    pub fuel: bool,
    /// Check the epoch in loops and calls, so a deadline stops busy guests.
    pub epoch_interruption: bool,
    /// Most instances alive at once (pool slots).
    pub max_instances: u32,
    /// Most bytes one linear memory may grow to.
    pub max_memory: u64,
}

/// Pool slots needed per component instance of the composed component
/// (measured: 9 core instances, 2 memories, 4 tables), with headroom.
const CORE_INSTANCES_PER_COMPONENT: u32 = 12;
const MEMORIES_PER_COMPONENT: u32 = 3;
const TABLES_PER_COMPONENT: u32 = 6;
/// The interpreter's funcref table has 47,157 entries.
pub(crate) const TABLE_ELEMENTS: usize = 65_536;
/// Bytes of a freed linear memory that are reset in place and stay resident
/// (see [`new_engine`]), per memory: at most this much stays held per slot.
const KEEP_RESIDENT: usize = 4 << 20;
/// Largest instance state (vmctx), for a core instance or a component instance.
pub(crate) const MAX_INSTANCE_SIZE: usize = 2 << 20;

pub(crate) fn base_config(fuel: bool) -> Config {
    let mut config = Config::new();
    config
        .wasm_exceptions(true)
        .epoch_interruption(true)
        .consume_fuel(fuel)
        .cranelift_opt_level(OptLevel::Speed)
        .memory_init_cow(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(ASYNC_STACK_SIZE)
        .concurrency_support(false);
    config
}

/// Builds an engine with the pooling allocator sized for `settings`.
pub(crate) fn new_engine(settings: EngineSettings) -> Result<Engine, Error> {
    let n = settings.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(n * MEMORIES_PER_COMPONENT)
        .total_tables(n * TABLES_PER_COMPONENT)
        .total_stacks(n)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .table_elements(TABLE_ELEMENTS)
        .max_core_instance_size(MAX_INSTANCE_SIZE)
        .max_component_instance_size(MAX_INSTANCE_SIZE)
        .max_memory_size(settings.max_memory as usize)
        .max_unused_warm_slots(n);
    // A freed slot is reset by rewriting only the pages the last instance
    // dirtied (found with PAGEMAP_SCAN, Linux 6.7+) instead of dropping the
    // whole memory, so the next fresh instance does not fault them all back
    // in: measured 510 → 358 page faults and 3.3 → 2.2 ms of CPU per fresh
    // `execute('1+1')`. Larger budgets measured no better: the scan stops at
    // wasmtime's 32 dirty regions first. Without the ioctl this is a memset
    // of the first pages, as on older kernels.
    pool.linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(TABLE_ELEMENTS * std::mem::size_of::<usize>())
        .pagemap_scan(Enabled::Auto);
    let mut config = base_config(settings.fuel);
    config.epoch_interruption(settings.epoch_interruption);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(Error::wasmtime("configuring wasmtime"))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is gone.
pub(crate) fn start_ticker(engine: &Engine) {
    let engine = engine.weak();
    thread::Builder::new()
        .name("mung-runtime-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}
