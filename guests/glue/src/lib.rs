//! The typed glue of mung-runtime's component.
//!
//! This component imports the interpreter's low-level `mung:interp/turn`
//! interface and exports `mung:runtime`'s typed interfaces. Every typed call
//! becomes one interpreter turn: the arguments travel as one binary frame
//! (see [`frame`]) handed over with `set-input`, the Python side
//! (`prelude.py`) runs the operation and posts the reply frame back. The mask
//! tools are the exception: the Rust kernels run them here (see [`masks`]),
//! and so are the documents the compiled validation rules accept (see
//! [`validator`]).

mod frame;
mod masks;
mod ops;
mod validator;

wit_bindgen::generate!({
    path: ["../../wit", "../../python-wasm/adapter/interp.wit", "wit"],
    world: "mung:glue/glue@0.1.0",
    generate_all,
});

use std::cell::Cell;
use std::sync::OnceLock;

use frame::{Frame, Reply};
use mung::interp::turn;

/// The Python half of the glue, loaded into each interpreter once.
const PRELUDE: &str = include_str!("prelude.py");
/// The turn that loads the prelude (unless already loaded, e.g. by a
/// pre-initialised snapshot) and prepares a new instance.
const BOOT: &str = include_str!("boot.py");
/// The turn that runs one call.
/// (The prelude answers exactly this source without compiling it; in an
/// interpreter without the prelude it is a silent no-op.)
const CALL: &str = "_mung_runtime.call() if '_mung_runtime' in globals() else None\n";

/// A choice between Rust code in the glue and the Python reference it is
/// tested against: the reference when the guest environment sets `var` to
/// `reference` (read once: the environment of an instance does not change).
pub(crate) struct ReferenceSwitch {
    var: &'static str,
    reference: OnceLock<bool>,
}

impl ReferenceSwitch {
    pub(crate) const fn new(var: &'static str) -> Self {
        ReferenceSwitch { var, reference: OnceLock::new() }
    }

    /// Whether this instance runs the Rust code.
    pub(crate) fn compiled(&self) -> bool {
        !*self.reference.get_or_init(|| std::env::var(self.var).is_ok_and(|v| v == "reference"))
    }
}

thread_local! {
    static BOOTED: Cell<bool> = const { Cell::new(false) };
}

/// A failure of the glue or of the interpreter below it, before Python could
/// give a typed answer.
#[derive(Debug)]
pub(crate) enum GlueError {
    /// The interpreter ended (`exit()`), or a turn gave no reply.
    Interpreter(String),
    /// Python answered with an error frame.
    Python(frame::ErrorReply),
}

impl GlueError {
    pub(crate) fn message(&self) -> String {
        match self {
            GlueError::Interpreter(m) => m.clone(),
            GlueError::Python(e) => e.describe(),
        }
    }
}

/// What a turn gave back, with its reply as bytes.
struct Outcome {
    status: i32,
    reply: Vec<u8>,
}

/// Runs one turn (see `interp.wit` for why bytes travel as words).
fn turn_run(source: &str) -> Outcome {
    let outcome = turn::run(source);
    let words = &outcome.reply;
    // SAFETY: any initialised memory is a valid `[u8]`; the slice covers
    // exactly the words' bytes (wasm is little-endian, like the packing).
    let bytes = unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8) };
    let len = (outcome.reply_len as usize).min(bytes.len());
    Outcome { status: outcome.status, reply: bytes[..len].to_vec() }
}

/// Hands `bytes` to the next turn, packed into zero-padded words.
fn set_input(bytes: &[u8]) {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    // SAFETY: every bit pattern is a valid `u64`; the slice covers exactly
    // the words' bytes.
    let dst = unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) };
    dst[..bytes.len()].copy_from_slice(bytes);
    turn::set_input(&words, bytes.len() as u32);
}

fn run_turn(source: &str) -> Result<Outcome, GlueError> {
    let outcome = turn_run(source);
    if outcome.status >= 256 {
        return Err(GlueError::Interpreter(format!(
            "the interpreter has ended (exit status {})",
            outcome.status & 0xff
        )));
    }
    Ok(outcome)
}

fn ensure_booted() -> Result<(), GlueError> {
    if BOOTED.with(Cell::get) {
        return Ok(());
    }
    // A pre-initialised snapshot has this prelude loaded already: then one
    // call turn (no compile) prepares the instance.
    set_input(&Frame::new("new_instance").blob_arg("prelude", PRELUDE.as_bytes()).encode());
    let outcome = turn_run(CALL);
    if Reply::decode(outcome.reply).is_ok_and(|r| r.error().is_none()) {
        BOOTED.with(|b| b.set(true));
        return Ok(());
    }
    // Otherwise load the prelude with a generic turn. (Without a prelude the
    // call turn did nothing and left its input; `set-input` replaces it.)
    set_input(PRELUDE.as_bytes());
    let outcome = run_turn(BOOT)?;
    if outcome.reply != b"ok" {
        return Err(GlueError::Interpreter(format!(
            "the runtime prelude failed to load (status {}): {}",
            outcome.status,
            String::from_utf8_lossy(&outcome.reply)
        )));
    }
    BOOTED.with(|b| b.set(true));
    Ok(())
}

/// Runs operation `op` of the prelude with the arguments in `frame`.
pub(crate) fn call(frame: Frame) -> Result<Reply, GlueError> {
    call_raw(&frame.encode())
}

/// Runs the prelude on an already encoded frame.
pub(crate) fn call_raw(frame: &[u8]) -> Result<Reply, GlueError> {
    ensure_booted()?;
    set_input(frame);
    // A reply is decoded even when the turn says the interpreter has ended:
    // `exit()` in a snippet still answers (with an `exit` error).
    let outcome = turn_run(CALL);
    if outcome.reply.is_empty() {
        return Err(GlueError::Interpreter(if outcome.status >= 256 {
            format!("the interpreter has ended (exit status {})", outcome.status & 0xff)
        } else {
            format!("the call gave no reply (turn status {})", outcome.status)
        }));
    }
    let reply =
        Reply::decode(outcome.reply).map_err(|e| GlueError::Interpreter(format!("malformed reply frame: {e}")))?;
    match reply.error() {
        Some(err) => Err(GlueError::Python(err)),
        None => Ok(reply),
    }
}

struct Glue;

export!(Glue);
