use mung_runtime::Runtime;
fn main() {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("MUNG_RUNTIME_LOG")).with_writer(std::io::stderr).init();
    let args: Vec<String> = std::env::args().collect();
    let rt = Runtime::builder().preinitialized(false).build().unwrap();
    let r = rt.execute(&args[1], &serde_json::json!({}));
    match r { Ok(e) => println!("value={} stdout={:?} stderr={:?}", e.value, e.output.stdout_text(), e.output.stderr_text()), Err(e) => println!("error: {e} / {:?}", e.output) }
}
