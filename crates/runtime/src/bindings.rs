//! Rust bindings of the `mung:runtime` WIT world (generated from `wit/`).

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "mung:runtime/runtime",
    exports: { default: async },
});
