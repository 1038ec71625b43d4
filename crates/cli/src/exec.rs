//! `mung-runtime exec`: run a Python script in the sandbox.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::Args;
use mung_runtime::{ExecError, ExecFailure, Execution, Output, PythonErrorKind, SandboxError};
use serde_json::{Value, json};

use crate::args::{ByteSize, DirGrant, SandboxArgs};
use crate::fail;
use crate::out::outln;

/// Where the interpreter's `hash()` secret comes from.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum HashSeedArg {
    /// This machine's secret, drawn when its snapshot was built (fast start).
    Machine,
    /// A new secret for every interpreter: each starts from scratch (slower
    /// start; imports are paid when first used).
    Random,
}

#[derive(Args)]
#[command(after_help = "Exit status: 0 success; N when the script calls sys.exit(N); 1 uncaught exception or \
    syntax error; 2 bad arguments, setup failure, or output that could not be written; 124 deadline exceeded; 125 stopped by the sandbox \
    (trap, out of fuel, memory).\n\nThe script runs in a fresh interpreter (numpy, scipy, lxml, PIL, mung and \
    mstudio already imported) that sees no files but the ones granted with --allow-dir, and no network. \
    The value of its final expression, if any, is printed as JSON after its output.")]
pub(crate) struct ExecArgs {
    /// The scripts to run, in order; `-` reads one from standard input.
    #[arg(value_name = "FILE", required_unless_present = "code", conflicts_with = "code")]
    files: Vec<PathBuf>,

    /// Run CODE instead of files (repeatable: run in order).
    #[arg(short = 'c', long = "code", value_name = "CODE")]
    code: Vec<String>,

    /// Run all scripts in one interpreter, each seeing the names the earlier
    /// ones defined. Without it, each script runs in a new interpreter that
    /// sees nothing of the others (for untrusted code).
    #[arg(long)]
    session: bool,

    /// Where the interpreter's `hash()` secret comes from: `machine` (drawn
    /// at random when this machine's snapshot was built, shared by its
    /// interpreters) or `random` (a new one for every interpreter).
    #[arg(long, value_enum, value_name = "SEED", default_value_t = HashSeedArg::Machine)]
    hash_seed: HashSeedArg,

    /// Names to define before the script runs, as a JSON object.
    #[arg(long, value_name = "JSON")]
    globals: Option<String>,

    /// Grant a host directory, visible in the sandbox at GUEST (an absolute
    /// path; default: the directory's own absolute path), read-only (default)
    /// or read-write. Repeatable.
    #[arg(long = "allow-dir", value_name = "HOST[:GUEST][:ro|rw]")]
    allow_dir: Vec<DirGrant>,

    /// Cap on the bytes written to `:rw` grants (per script, or for the
    /// whole session with `--session`; overwrites count); past
    /// it, writes fail in the sandbox with "No space left on device". Symbolic links leading out of a
    /// grant are refused whatever this is.
    #[arg(long, value_name = "SIZE", default_value = "1G")]
    rw_quota: ByteSize,

    /// Cap on what the script may print to each of stdout and stderr; the
    /// rest is dropped.
    #[arg(long, value_name = "SIZE", default_value = "16M")]
    output_limit: ByteSize,

    /// Print one JSON object (value, output, error, exit status) instead of
    /// streaming the output.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// The largest script `exec` reads (a bound on `exec /dev/zero`).
const MAX_SCRIPT_BYTES: u64 = 64 << 20;

fn read_script(path: &std::path::Path) -> Result<String, String> {
    let (what, reader): (String, Box<dyn Read>) = if path.as_os_str() == "-" {
        ("the script from stdin".into(), Box::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        (path.display().to_string(), Box::new(file))
    };
    let mut bytes = Vec::new();
    reader.take(MAX_SCRIPT_BYTES + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read {what}: {e}"))?;
    if bytes.len() as u64 > MAX_SCRIPT_BYTES {
        return Err(format!("cannot read {what}: a script may be at most {MAX_SCRIPT_BYTES} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| format!("cannot read {what}: the script is not UTF-8"))
}

pub(crate) fn run(args: ExecArgs, cache_dir: Option<PathBuf>) -> u8 {
    let scripts: Vec<String> = if args.code.is_empty() {
        match args.files.iter().map(|p| read_script(p)).collect::<Result<_, _>>() {
            Ok(s) => s,
            Err(e) => return fail(e),
        }
    } else {
        args.code.clone()
    };
    if scripts.is_empty() {
        return fail("give a script FILE, `-` for stdin, or -c CODE");
    }
    let globals: Value = match &args.globals {
        Some(text) => match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return fail("--globals must be a JSON object"),
            Err(e) => return fail(format!("--globals is not valid JSON: {e}")),
        },
        None => json!({}),
    };
    let mut builder = match args.sandbox.builder(cache_dir) {
        Ok(b) => {
            b.output_limit(args.output_limit.0 as usize).write_quota(args.rw_quota.0).hash_seed(match args.hash_seed {
                HashSeedArg::Machine => mung_runtime::HashSeed::PerMachine,
                HashSeedArg::Random => mung_runtime::HashSeed::PerInstance,
            })
        }
        Err(e) => return fail(e),
    };
    // The scripts run back to back and the process ends after the last: an
    // instance made ahead of time would only be dropped at exit.
    builder = builder.prepared_instances(0);
    for grant in &args.allow_dir {
        builder = builder.mount(grant.0.clone());
    }
    if !args.json {
        builder = builder.on_stdout(crate::out::write_bytes).on_stderr(|bytes| {
            let _ = std::io::stderr().lock().write_all(bytes);
        });
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => return fail(mung_runtime::error_chain(&e)),
    };
    let mut session = args.session.then(|| runtime.session());
    for code in &scripts {
        let result = match &mut session {
            Some(session) => session.execute(code, &globals),
            None => runtime.execute(code, &globals),
        };
        if args.json {
            report_json(&result);
        } else {
            report_plain(&result);
        }
        if let Err(e) = &result {
            // The first failing script decides the status; the rest do not run.
            return (exit_status(e) & 0xff) as u8;
        }
    }
    0
}

fn report_plain(result: &Result<Execution, ExecError>) {
    match result {
        Ok(done) => {
            if !done.value.is_null() {
                outln!("{}", done.value);
            }
            warn_truncated(&done.output);
        }
        Err(e) => {
            warn_truncated(&e.output);
            match &e.failure {
                ExecFailure::Python(p) if p.kind == PythonErrorKind::Exit => {}
                ExecFailure::Python(p) if p.kind == PythonErrorKind::ValueTooLarge => {
                    eprintln!("mung-runtime: the value went over --output-limit; it was dropped ({})", p.message)
                }
                ExecFailure::Python(p) => eprintln!("{p}"),
                ExecFailure::Sandbox(s) => eprintln!("mung-runtime: {}", mung_runtime::error_chain(s)),
                other => eprintln!("mung-runtime: {}", mung_runtime::error_chain(other)),
            }
        }
    }
}

fn warn_truncated(output: &Output) {
    for (name, cut) in [("stdout", output.stdout_truncated), ("stderr", output.stderr_truncated)] {
        if cut {
            eprintln!("mung-runtime: {name} went over --output-limit; the rest was dropped");
        }
    }
}

fn report_json(result: &Result<Execution, ExecError>) {
    let (output, mut report) = match result {
        Ok(done) => (&done.output, json!({"ok": true, "value": done.value, "exit_code": 0})),
        Err(e) => {
            let error = match &e.failure {
                ExecFailure::Python(p) => json!({
                    "kind": p.kind,
                    "type": p.type_name,
                    "message": p.message,
                    "traceback": p.traceback,
                }),
                ExecFailure::Sandbox(s) => json!({"kind": s.kind(), "message": mung_runtime::error_chain(s)}),
                other => json!({"kind": "other", "message": mung_runtime::error_chain(other)}),
            };
            (&e.output, json!({"ok": false, "error": error, "exit_code": exit_status(e)}))
        }
    };
    let map = report.as_object_mut().unwrap();
    map.insert("stdout".into(), output.stdout_text().into());
    map.insert("stderr".into(), output.stderr_text().into());
    map.insert("stdout_truncated".into(), output.stdout_truncated.into());
    map.insert("stderr_truncated".into(), output.stderr_truncated.into());
    outln!("{report}");
}

/// The process exit status for a failed script: its own status for
/// `sys.exit(n)` and `os._exit(n)`, 1 for exceptions and syntax errors, 2 for
/// bad globals, 124 for the deadline, 125 for other sandbox stops.
pub(crate) fn exit_status(e: &ExecError) -> i32 {
    match &e.failure {
        ExecFailure::Python(p) => match p.kind {
            PythonErrorKind::Exit => p.exit_code.unwrap_or(0),
            PythonErrorKind::InvalidGlobals => 2,
            _ => 1,
        },
        ExecFailure::Sandbox(SandboxError::Exit { code }) => *code,
        ExecFailure::Sandbox(SandboxError::Timeout { .. }) => 124,
        ExecFailure::Sandbox(_) => 125,
        _ => 125,
    }
}
