//! The frame/XML boundary: arbitrary bytes as a MuNG document. The bytes go
//! through `document_text` and `validate` (host → glue frame → prelude →
//! `mstudio`); every answer must be issues or a typed refusal, never an
//! internal error, and the runtime must answer the next call.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mung_runtime::{Runtime, ValidateError};

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::builder().build().expect("building the runtime"))
}

// The runtime is built before fuzzing starts, outside libFuzzer's per-input
// timeout: under the fuzz build's instrumentation, its first build compiles
// the interpreter anew (the compiled cache is keyed by the engine's settings).
fuzz_target!(init: { runtime(); }, |data: &[u8]| {
    let Ok(text) = mung_runtime::document_text(data) else { return };
    match runtime().validate(text) {
        Ok(_) | Err(ValidateError::InvalidInput(_)) => {}
        // A deadline or memory stop on a huge input is a typed answer too.
        Err(ValidateError::Sandbox(_)) => {}
        Err(e) => panic!("{e:?} for {text:?}"),
    }
});
