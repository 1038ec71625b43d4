//! `mung-runtime validate`: validate MuNG documents, one file or whole
//! datasets, in parallel.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mung_runtime::{InputError, Runtime, ValidationIssue};
use serde_json::{Value, json};

use crate::args::{ByteSize, SandboxArgs};
use crate::fail;
use crate::fsutil::{FileId, file_id};
use crate::out::outln;

const EXIT_CLEAN: u8 = 0;
const EXIT_ISSUES: u8 = 1;
const EXIT_UNREADABLE: u8 = 2;

#[derive(Args)]
#[command(after_help = "Exit status: 0 when no document has issues, 1 when some document has issues, 2 when \
    some document could not be read or parsed (the others are still validated), a --fix copy could not be written, \
    the output could not be written (a closed pipe, as with `| head`, is not an error) or no document was \
    found.\n\nA PATH that is a \
    directory is searched recursively for *.xml files. Documents are validated in parallel, each in \
    its own sandboxed interpreter; results are printed in input order.")]
pub(crate) struct ValidateArgs {
    /// MuNG XML files, or directories to search for *.xml.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,

    /// Output format: `human` (summary per document), `json` (an array with
    /// one object per document), `jsonl` (one object per line).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,

    /// Documents validated at once (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,

    /// Write a copy of every readable document to DIR with all fixable
    /// issues resolved (class renames). Inputs are never modified.
    #[arg(long, value_name = "DIR")]
    fix: Option<PathBuf>,

    /// How many issues to list per document in human output.
    #[arg(long, value_name = "N", default_value_t = 10)]
    max_listed: usize,

    /// Refuse documents larger than this (they are reported, not validated).
    /// The default is what validates within the default --memory; raise
    /// both together.
    #[arg(long, value_name = "SIZE", default_value_t = ByteSize(mung_runtime::DEFAULT_MAX_DOCUMENT))]
    max_size: ByteSize,

    #[command(flatten)]
    sandbox: SandboxArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Jsonl,
}

/// One input document: where it is, and where its fixed copy goes.
struct Document {
    path: PathBuf,
    /// Path relative to the directory argument it was found under.
    relative: PathBuf,
}

/// The outcome for one document.
enum Outcome {
    Issues(Vec<ValidationIssue>),
    Failed { kind: &'static str, message: String },
}

struct Report {
    outcome: Outcome,
    /// Where the fixed copy went, or why it did not.
    fixed: Option<Result<(PathBuf, u32), String>>,
}

pub(crate) fn run(args: ValidateArgs, cache_dir: Option<PathBuf>) -> u8 {
    let (documents, missing) = collect(&args.paths);
    if documents.is_empty() && missing.is_empty() {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        return fail(format!("no *.xml documents found in {}", paths.join(", ")));
    }
    if let Some(Err(e)) = args.fix.as_ref().map(|dir| check_fix_dir(dir, &documents)) {
        return fail(e);
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, documents.len().max(1));
    // One instance per job: that is all that runs at once.
    let runtime = match args.sandbox.builder(cache_dir).map(|b| b.max_instances(jobs as u32)) {
        Ok(b) => match b.build() {
            Ok(r) => r,
            Err(e) => return fail(mung_runtime::error_chain(&e)),
        },
        Err(e) => return fail(e),
    };

    let progress = if std::io::stderr().is_terminal() && documents.len() > 1 {
        let bar = ProgressBar::with_draw_target(Some(documents.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut status = if missing.is_empty() { EXIT_CLEAN } else { EXIT_UNREADABLE };
    let mut printer = Printer::new(args.format, args.max_listed);
    for (path, message) in &missing {
        progress
            .suspend(|| printer.print(path, &Report { outcome: failed("unreadable", message.clone()), fixed: None }));
    }

    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Report)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (runtime, documents, next, args) = (&runtime, &documents, &next, &args);
            scope.spawn(move || {
                loop {
                    // Nobody reads the report any more (`| head`): stop, unless
                    // fixed copies are still being written.
                    if crate::out::closed() && args.fix.is_none() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(doc) = documents.get(i) else { break };
                    let report = validate_one(runtime, doc, args);
                    if tx.send((i, report)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Print in input order whatever order the documents finish in.
        let mut pending = BTreeMap::new();
        let mut printed = 0;
        for (i, report) in rx {
            progress.inc(1);
            progress.set_message(documents[i].relative.display().to_string());
            pending.insert(i, report);
            while let Some(report) = pending.remove(&printed) {
                status = status.max(match (&report.outcome, &report.fixed) {
                    // A fixed copy that could not be written is a failure,
                    // not "issues found".
                    (_, Some(Err(_))) | (Outcome::Failed { .. }, _) => EXIT_UNREADABLE,
                    (Outcome::Issues(issues), _) if issues.is_empty() => EXIT_CLEAN,
                    (Outcome::Issues(_), _) => EXIT_ISSUES,
                });
                progress.suspend(|| printer.print(&documents[printed].path, &report));
                printed += 1;
            }
        }
    });
    progress.finish_and_clear();
    printer.finish(documents.len() + missing.len());
    status
}

fn failed(kind: &'static str, message: String) -> Outcome {
    Outcome::Failed { kind, message }
}

fn validate_one(runtime: &Runtime, doc: &Document, args: &ValidateArgs) -> Report {
    let bytes = match read_bounded(&doc.path, args.max_size.0) {
        Ok(b) => b,
        Err((kind, message)) => return Report { outcome: failed(kind, message), fixed: None },
    };
    let outcome = match mung_runtime::document_text(&bytes).and_then(|text| runtime.validate(text)) {
        Ok(issues) => Outcome::Issues(issues),
        Err(e) => failed(e.kind(), e.message()),
    };
    let fixed = match (&args.fix, &outcome, std::str::from_utf8(&bytes)) {
        (Some(dir), Outcome::Issues(_), Ok(text)) => Some(write_fixed(runtime, text, &dir.join(&doc.relative))),
        _ => None,
    };
    Report { outcome, fixed }
}

fn write_fixed(runtime: &Runtime, text: &str, target: &Path) -> Result<(PathBuf, u32), String> {
    let fixed = runtime.fix(text).map_err(|e| e.to_string())?;
    crate::fsutil::write_atomic(target, fixed.mung_xml.as_bytes())?;
    Ok((target.to_path_buf(), fixed.renamed))
}

/// Expands directory arguments; returns the documents and the paths that
/// could not be read.
fn collect(paths: &[PathBuf]) -> (Vec<Document>, Vec<(PathBuf, String)>) {
    let mut documents = Vec::new();
    let mut missing = Vec::new();
    let mut seen_files = HashSet::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                let mut unreadable = Vec::new();
                if let Err(e) = walk(path, &mut found, &mut HashSet::new(), &mut seen_files, &mut unreadable) {
                    missing.push((path.clone(), format!("cannot read the directory: {e}")));
                }
                for (dir, e) in unreadable {
                    missing.push((dir, format!("cannot read the directory: {e}")));
                }
                found.sort();
                for file in found {
                    let relative = file.strip_prefix(path).unwrap_or(&file).to_path_buf();
                    documents.push(Document { path: file, relative });
                }
            }
            Ok(_) => {
                let relative = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
                documents.push(Document { path: path.clone(), relative });
            }
            Err(e) => missing.push((path.clone(), format!("cannot read: {e}"))),
        }
    }
    (documents, missing)
}

/// Reads a document of at most `max` bytes (see [`mung_runtime::read_input`]),
/// or says why not: an error kind and message for the report.
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, (&'static str, String)> {
    mung_runtime::read_input(path, max).map_err(|e| match e {
        InputError::TooLarge { size, .. } => (
            "too-large",
            format!(
                "the document is {size} bytes, more than --max-size ({max} bytes); raise --max-size and --memory \
                 together to validate it (the defaults, {} and {}, go together)",
                ByteSize(mung_runtime::DEFAULT_MAX_DOCUMENT),
                ByteSize(mung_runtime::DEFAULT_MEMORY_LIMIT)
            ),
        ),
        e @ InputError::NotAFile { .. } => ("not-a-file", e.to_string()),
        e => ("unreadable", format!("cannot read the file: {e}")),
    })
}

/// Most directories one walk enters (a bound on hostile trees).
const MAX_WALK_DIRS: usize = 1_000_000;

/// Finds the `*.xml` files under `dir`. Symbolic links are followed, but
/// every directory is entered once and every file listed once (by device and
/// inode), so link loops (`sub/up -> ..`, `x -> .`) end and each document is
/// validated once. `seen_files` is shared by all arguments; subdirectories
/// that cannot be read go to `unreadable`.
fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    seen_dirs: &mut HashSet<FileId>,
    seen_files: &mut HashSet<FileId>,
    unreadable: &mut Vec<(PathBuf, std::io::Error)>,
) -> std::io::Result<()> {
    let meta = std::fs::metadata(dir)?;
    if !seen_dirs.insert(file_id(dir, &meta)) {
        return Ok(());
    }
    let top = dir.to_path_buf();
    let mut stack = vec![top.clone()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            // The top directory must be readable; below it, an unreadable
            // directory is reported and the walk goes on.
            Err(e) if dir == top => return Err(e),
            Err(e) => {
                unreadable.push((dir, e));
                continue;
            }
        };
        entries.sort();
        let mut subdirs = Vec::new();
        for path in entries {
            let is_xml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml"));
            // Following links: a link to a file or directory counts as it.
            // A broken link named *.xml is listed (and reported unreadable).
            let meta = match std::fs::metadata(&path) {
                Ok(meta) => meta,
                Err(_) => {
                    if is_xml {
                        out.push(path);
                    }
                    continue;
                }
            };
            if meta.is_dir() {
                if seen_dirs.len() < MAX_WALK_DIRS && seen_dirs.insert(file_id(&path, &meta)) {
                    subdirs.push(path);
                }
            } else if is_xml && (!meta.is_file() || seen_files.insert(file_id(&path, &meta))) {
                // Non-regular files (a FIFO named *.xml) are listed and then
                // refused by `read_bounded`, never opened for reading.
                out.push(path);
            }
        }
        // Depth first, in name order: a file reached through several links
        // is listed under the first name in that order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

/// `--fix` must never write over an input, and two inputs must not map to
/// the same output.
fn check_fix_dir(dir: &Path, documents: &[Document]) -> Result<(), String> {
    let inputs: HashSet<PathBuf> = documents.iter().filter_map(|d| std::fs::canonicalize(&d.path).ok()).collect();
    let mut targets = HashMap::new();
    for doc in documents {
        let target = dir.join(&doc.relative);
        if std::fs::canonicalize(&target).is_ok_and(|canon| inputs.contains(&canon)) {
            return Err(format!(
                "--fix would overwrite the input {}; choose an output directory outside the inputs",
                doc.path.display()
            ));
        }
        if let Some(other) = targets.insert(target.clone(), &doc.path) {
            return Err(format!(
                "{} and {} would both be written to {}; validate them in separate runs",
                other.display(),
                doc.path.display(),
                target.display()
            ));
        }
    }
    Ok(())
}

/// Prints reports in the chosen format.
struct Printer {
    format: Format,
    max_listed: usize,
    json: Vec<Value>,
    documents_with_issues: usize,
    issues: usize,
    failed: usize,
}

impl Printer {
    fn new(format: Format, max_listed: usize) -> Printer {
        Printer { format, max_listed, json: Vec::new(), documents_with_issues: 0, issues: 0, failed: 0 }
    }

    fn print(&mut self, path: &Path, report: &Report) {
        match &report.outcome {
            Outcome::Issues(issues) if !issues.is_empty() => {
                self.documents_with_issues += 1;
                self.issues += issues.len();
            }
            Outcome::Issues(_) => {}
            Outcome::Failed { .. } => self.failed += 1,
        }
        match self.format {
            Format::Human => self.print_human(path, report),
            Format::Json | Format::Jsonl => {
                let mut value = match &report.outcome {
                    Outcome::Issues(issues) => json!({"file": path, "issues": issues}),
                    Outcome::Failed { kind, message } => {
                        json!({"file": path, "error": {"kind": kind, "message": message}})
                    }
                };
                match &report.fixed {
                    Some(Ok((to, renamed))) => value["fixed"] = json!({"file": to, "renamed": renamed}),
                    Some(Err(e)) => value["fixed"] = json!({"error": e}),
                    None => {}
                }
                if self.format == Format::Jsonl {
                    outln!("{value}");
                } else {
                    self.json.push(value);
                }
            }
        }
    }

    fn print_human(&self, path: &Path, report: &Report) {
        match &report.outcome {
            Outcome::Failed { kind, message } => outln!("{}: error ({kind}): {message}", path.display()),
            Outcome::Issues(issues) if issues.is_empty() => outln!("{}: no issues", path.display()),
            Outcome::Issues(issues) => {
                let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
                for issue in issues {
                    *counts.entry(issue.code).or_default() += 1;
                }
                let counts: Vec<String> = counts.iter().map(|(c, n)| format!("{c}×{n}")).collect();
                let fixable = issues.iter().filter(|i| i.resolution.is_some()).count();
                outln!(
                    "{}: {} issue{} ({}){}",
                    path.display(),
                    issues.len(),
                    if issues.len() == 1 { "" } else { "s" },
                    counts.join(", "),
                    if fixable > 0 { format!(", {fixable} fixable") } else { String::new() }
                );
                for issue in issues.iter().take(self.max_listed) {
                    let mark = if issue.resolution.is_some() { " [fixable]" } else { "" };
                    outln!("  {} node {}: {}{mark}", issue.code, issue.node_id, issue.message);
                }
                if issues.len() > self.max_listed {
                    outln!("  … and {} more (--max-listed, or --format json for all)", issues.len() - self.max_listed);
                }
            }
        }
        match &report.fixed {
            Some(Ok((to, renamed))) => outln!("  fixed copy ({renamed} renamed): {}", to.display()),
            Some(Err(e)) => outln!("  could not write the fixed copy: {e}"),
            None => {}
        }
    }

    fn finish(&self, total: usize) {
        match self.format {
            Format::Json => outln!("{}", serde_json::to_string_pretty(&self.json).unwrap_or_default()),
            Format::Jsonl => {}
            Format::Human if total > 1 => outln!(
                "{total} documents: {} with issues ({} issues), {} clean, {} failed",
                self.documents_with_issues,
                self.issues,
                total - self.documents_with_issues - self.failed,
                self.failed
            ),
            Format::Human => {}
        }
    }
}
