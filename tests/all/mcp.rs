//! The MCP server (`mung-runtime mcp` over stdio, `serve --mcp` over
//! streamable HTTP), driven by a client we did not write: the official MCP
//! Python SDK (`mcp` from PyPI, in a venv made once in the cache), running
//! `mcp_client.py` beside this file.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use mung_runtime::Runtime;
use mung_runtime_python_wasm::native::NativePython;
use mung_runtime_server::ServerConfig;
use serde_json::Value;

use crate::common::{cache, cli, fixtures, repo, run, show};
use crate::serve::{TestServer, cli_issues};

/// The official MCP Python SDK, pinned.
const MCP_CLIENT: &[&str] = &["mcp==2.3.0"];

/// A deadline short enough for the busy-loop step, long enough for the rest.
const TIMEOUT_SECS: &str = "5";

fn client_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            NativePython::ensure(&cache(), "mcp-client", MCP_CLIENT).expect("installing the MCP Python SDK").python()
        })
        .clone()
}

/// Runs the scenario of `mcp_client.py` with these arguments after the
/// document, and returns what it printed.
fn scenario(args: &[String]) -> Value {
    let mut cmd = std::process::Command::new(client_python());
    cmd.arg(repo().join("tests/all/mcp_client.py")).arg(fixtures().join("small.xml")).args(args);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", show(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&out)))
}

fn value(step: &Value) -> &Value {
    assert_eq!(step["is_error"], false, "{step}");
    &step["structured"]["value"]
}

/// What every transport must answer.
fn judge(out: &Value) {
    assert_eq!(
        out["tools"],
        serde_json::json!([
            "binarize_region",
            "detect_stafflines",
            "fix_mung",
            "run_python",
            "validate_mung",
            "write_file"
        ]),
        "{out}"
    );
    for (name, tool) in out["schemas"].as_object().expect("schemas") {
        assert!(tool["description"].as_str().is_some_and(|d| d.len() > 80), "{name} needs a description: {tool}");
        assert_eq!(tool["input"]["type"], "object", "{name}: {tool}");
        assert!(tool["input"]["properties"].as_object().is_some_and(|p| !p.is_empty()), "{name}: {tool}");
    }
    // One interpreter per connection: the second call sees the first's name.
    assert_eq!(*value(&out["define"]), Value::Null);
    assert_eq!(*value(&out["use"]), 42, "{out}");
    assert!(out["use"]["structured"]["usage"]["wall_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{out}");
    // A file put by the client is seen by scripts and as a resource.
    assert_eq!(out["write"]["is_error"], false, "{out}");
    assert_eq!(*value(&out["read_in_python"]), "hello from the client");
    assert!(out["resources"].as_array().unwrap().contains(&"session:///notes/hello.txt".into()), "{out}");
    assert_eq!(out["resource"], serde_json::json!(["hello from the client"]));
    // The issues the CLI prints for the same document.
    assert_eq!(out["validate"]["is_error"], false, "{out}");
    assert_eq!(out["validate"]["structured"]["issues"], cli_issues(&fixtures().join("small.xml")));
    // Bad arguments and hostile scripts are tool errors, and the server goes on.
    assert_eq!(out["bad_argument"]["is_error"], true, "{out}");
    assert!(out["bad_argument"]["structured"]["error"].as_str().unwrap().contains(".."), "{out}");
    assert_eq!(out["busy"]["is_error"], true, "{out}");
    assert_eq!(out["busy"]["structured"]["kind"], "sandbox-timeout", "{out}");
    assert_eq!(out["busy"]["structured"]["state_lost"], true, "{out}");
    assert_eq!(*value(&out["after_busy"]), 2, "{out}");
    assert_eq!(out["state_after_busy"]["is_error"], true, "the stop ended the interpreter's state: {out}");
    assert!(out["state_after_busy"]["structured"]["error"].as_str().unwrap().contains("NameError"), "{out}");
    assert_eq!(*value(&out["file_after_busy"]), "hello from the client", "files outlive the interpreter: {out}");
}

#[test]
fn an_mcp_client_over_stdio_keeps_one_session_per_connection() {
    let exe = cli().get_program().to_owned();
    let mut args = vec!["--".to_string(), exe.to_string_lossy().into_owned(), "mcp".into()];
    args.extend(["--timeout".into(), TIMEOUT_SECS.into()]);
    judge(&scenario(&args));
}

#[test]
fn an_mcp_client_over_streamable_http_keeps_one_session_per_connection() {
    let runtime = Runtime::builder()
        .timeout(Duration::from_secs(TIMEOUT_SECS.parse().unwrap()))
        .max_instances(6)
        .build()
        .unwrap();
    let server = TestServer::start(runtime, ServerConfig::default().jobs(1).allow_execute(true).mcp(true));
    judge(&scenario(&[server.url("/mcp")]));
}

#[test]
fn mcp_help_names_the_tools() {
    let out = run(cli().args(["mcp", "--help"]));
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for tool in ["run_python", "validate_mung", "binarize_region", "session:///"] {
        assert!(text.contains(tool), "{tool} missing from --help:\n{text}");
    }
}
