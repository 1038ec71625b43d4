//! The tools. Each answers with structured JSON; each failure is a result
//! with `isError` and a message that says what to do next.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mung_runtime::{ExecFailure, Mask, Point, Region, RegionTool, RgbaImage, SESSION_GUEST_PATH, Usage};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::schemars::JsonSchema;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::connection::{MAX_READ, MungMcp};

/// What a tool answers: a result (also for its failures), never a protocol error.
type Answer = Result<CallToolResult, ErrorData>;

fn failed(message: impl Into<String>) -> Answer {
    Ok(CallToolResult::structured_error(json!({ "error": message.into() })))
}

fn usage_json(usage: &Usage) -> Value {
    let mut json = json!({
        "wall_ms": usage.wall.as_secs_f64() * 1e3,
        "memory_peak_bytes": usage.memory_peak_bytes,
    });
    if let Some(fuel) = usage.fuel {
        json["fuel"] = fuel.into();
    }
    json
}

/// Arguments of `run_python`.
#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct RunPython {
    /// Python source. The value of a final expression is returned as JSON
    /// (so end with an expression to see a result); print() goes to stdout.
    code: String,
    /// Names to define before the code runs, as a JSON object.
    #[serde(default)]
    globals: Option<serde_json::Map<String, Value>>,
}

/// Arguments of `write_file`.
#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct WriteFile {
    /// Relative path in the session directory, e.g. `pages/p1.png` (scripts
    /// see it as /session/pages/p1.png). No `..`, no leading `/`.
    path: String,
    /// The content as text (UTF-8). Give this or `base64`.
    #[serde(default)]
    text: Option<String>,
    /// The content as base64, for binary files such as images.
    #[serde(default)]
    base64: Option<String>,
}

/// A MuNG document, as text or as a file of the session.
#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct Document {
    /// The MuNG XML document (root `<Nodes>`). Give this or `path`.
    #[serde(default)]
    document: Option<String>,
    /// A session file holding the document (relative path, as in `write_file`).
    #[serde(default)]
    path: Option<String>,
}

/// A rectangle of the page, in pixels.
#[derive(Deserialize, JsonSchema, Clone, Copy)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct RegionArg {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

/// Arguments of the region tools.
#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct RegionRequest {
    /// A page image (PNG or JPEG) in the session (relative path). Give this
    /// or `image_base64`.
    #[serde(default)]
    image_path: Option<String>,
    /// A page image (PNG or JPEG) as base64.
    #[serde(default)]
    image_base64: Option<String>,
    /// The region of the page to work on (default: the whole image).
    #[serde(default)]
    region: Option<RegionArg>,
    /// Keep only the mask inside this polygon, as [[x, y], ...] in page
    /// coordinates (at least 3 points).
    #[serde(default)]
    polygon: Option<Vec<[i32; 2]>>,
    /// Also save the mask as a black-and-white PNG at this session path.
    #[serde(default)]
    save_as: Option<String>,
}

#[tool_router(vis = "pub(crate)")]
impl MungMcp {
    #[tool(
        description = "Run Python in a sandbox that keeps its state for this connection: variables, imports and \
        files persist between calls. numpy, scipy, lxml, pillow, `mung` and `mstudio` are importable; files are \
        read-write under /session; there is no network. Returns the value of the final expression (as JSON), \
        stdout, stderr and usage (wall_ms, memory_peak_bytes). A Python exception is returned as an error with its \
        traceback (the state is kept); a deadline or memory stop ends the interpreter (state_lost: true, files \
        kept) and the next call starts a fresh one.",
        annotations(read_only_hint = false, open_world_hint = false)
    )]
    async fn run_python(&self, Parameters(request): Parameters<RunPython>) -> Answer {
        if let Err(message) = self.ensure_place() {
            return failed(message);
        }
        let _running = match self.shared.gate.call().await {
            Ok(permit) => permit,
            Err(message) => return failed(message),
        };
        let mut session = self.conn.session.clone().lock_owned().await;
        let globals = Value::Object(request.globals.unwrap_or_default());
        let joined = tokio::task::spawn_blocking(move || {
            let result = session.execute(&request.code, &globals);
            (result, session.is_started())
        })
        .await;
        let Ok((result, started)) = joined else { return failed("the call failed unexpectedly; the server goes on") };
        match result {
            Ok(done) => Ok(CallToolResult::structured(json!({
                "value": done.value,
                "stdout": done.output.stdout_text(),
                "stderr": done.output.stderr_text(),
                "stdout_truncated": done.output.stdout_truncated,
                "stderr_truncated": done.output.stderr_truncated,
                "usage": usage_json(&done.usage),
            }))),
            Err(e) => {
                let (kind, message) = match &e.failure {
                    ExecFailure::Python(p) => {
                        let kind = serde_json::to_value(p.kind).ok().and_then(|k| k.as_str().map(str::to_owned));
                        (format!("python-{}", kind.as_deref().unwrap_or("error")), p.to_string())
                    }
                    ExecFailure::Sandbox(s) => (format!("sandbox-{}", s.kind()), s.to_string()),
                    other => ("error".to_string(), other.to_string()),
                };
                Ok(CallToolResult::structured_error(json!({
                    "error": message,
                    "kind": kind,
                    "state_lost": !started,
                    "stdout": e.output.stdout_text(),
                    "stderr": e.output.stderr_text(),
                    "usage": usage_json(&e.usage),
                })))
            }
        }
    }

    #[tool(
        description = "Write a file into this connection's session directory (scripts see it at /session/PATH; it \
        is also the resource session:///PATH). Give the content as `text` or as `base64`. Replaces an existing file; \
        fails when the session's files quota would be exceeded.",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn write_file(&self, Parameters(request): Parameters<WriteFile>) -> Answer {
        let bytes = match (request.text, request.base64) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(b64)) => match BASE64.decode(b64.trim()) {
                Ok(bytes) => bytes,
                Err(e) => return failed(format!("`base64` is not valid base64: {e}")),
            },
            _ => return failed("give exactly one of `text` and `base64`"),
        };
        let files = self.conn.files.clone();
        let path = request.path;
        let size = bytes.len();
        let written = tokio::task::spawn_blocking(move || files.write(&path, &bytes).map(|()| path)).await;
        match written {
            Ok(Ok(path)) => Ok(CallToolResult::structured(json!({
                "path": path,
                "sandbox_path": format!("{SESSION_GUEST_PATH}/{path}"),
                "size": size,
            }))),
            Ok(Err(e)) => failed(e.to_string()),
            Err(_) => failed("the write failed unexpectedly; the server goes on"),
        }
    }

    #[tool(
        description = "Validate a MuNG (Music Notation Graph) document with MuNG Studio's rules. Returns `issues`: \
        each with code, message, nodeId, fingerprint and, when it can be fixed automatically, a resolution (apply \
        them with fix_mung). An unreadable document is an error with the parser's message.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn validate_mung(&self, Parameters(request): Parameters<Document>) -> Answer {
        let xml = match self.document_text(request).await {
            Ok(xml) => xml,
            Err(message) => return failed(message),
        };
        match self.sandbox(move |rt| rt.validate(&xml)).await {
            Ok(Ok(issues)) => Ok(CallToolResult::structured(json!({ "issues": issues }))),
            Ok(Err(e)) => failed(e.to_string()),
            Err(message) => failed(message),
        }
    }

    #[tool(
        description = "Apply every automatic fix MuNG Studio offers (class renames) to a MuNG document. Returns \
        the fixed `document` and how many nodes were `renamed`.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn fix_mung(&self, Parameters(request): Parameters<Document>) -> Answer {
        let xml = match self.document_text(request).await {
            Ok(xml) => xml,
            Err(message) => return failed(message),
        };
        match self.sandbox(move |rt| rt.fix(&xml)).await {
            Ok(Ok(fixed)) => {
                Ok(CallToolResult::structured(json!({ "document": fixed.mung_xml, "renamed": fixed.renamed })))
            }
            Ok(Err(e)) => failed(e.to_string()),
            Err(message) => failed(message),
        }
    }

    #[tool(
        description = "MuNG Studio's 'binarize region': the ink of a page region (Otsu's threshold of its \
        bilateral-filtered lightness), optionally only inside a polygon. The image is a session file \
        (`image_path`) or base64 (`image_base64`). Returns the mask placed on the page: left, top, width, height, \
        ink_pixels and pixels (base64 of width*height bytes, 1 = ink); `save_as` also writes it as a PNG.",
        annotations(read_only_hint = false, open_world_hint = false)
    )]
    async fn binarize_region(&self, Parameters(request): Parameters<RegionRequest>) -> Answer {
        self.region_tool(RegionTool::Binarize, request).await
    }

    #[tool(
        description = "MuNG Studio's stafflines tool: the staff lines found in a page region, optionally only \
        inside a polygon. Same arguments and answer as binarize_region.",
        annotations(read_only_hint = false, open_world_hint = false)
    )]
    async fn detect_stafflines(&self, Parameters(request): Parameters<RegionRequest>) -> Answer {
        self.region_tool(RegionTool::Stafflines, request).await
    }
}

impl MungMcp {
    /// Runs a typed call on a blocking thread once the gate lets it.
    async fn sandbox<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mung_runtime::Runtime) -> T + Send + 'static,
    ) -> Result<T, String> {
        let _running = self.shared.gate.call().await?;
        let runtime = self.shared.runtime.clone();
        tokio::task::spawn_blocking(move || f(&runtime))
            .await
            .map_err(|_| "the call failed unexpectedly; the server goes on".to_string())
    }

    async fn document_text(&self, request: Document) -> Result<String, String> {
        match (request.document, request.path) {
            (Some(text), None) => Ok(text),
            (None, Some(path)) => {
                let bytes = self.read_file(path).await?;
                mung_runtime::document_text(&bytes).map(str::to_owned).map_err(|e| e.to_string())
            }
            _ => Err("give exactly one of `document` (the XML text) and `path` (a session file)".into()),
        }
    }

    async fn read_file(&self, path: String) -> Result<Vec<u8>, String> {
        let files = self.conn.files.clone();
        match tokio::task::spawn_blocking(move || files.read(&path, MAX_READ.max(files.quota()))).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err("reading the file failed unexpectedly".into()),
        }
    }

    async fn region_tool(&self, tool: RegionTool, request: RegionRequest) -> Answer {
        let bytes = match (request.image_path, request.image_base64) {
            (Some(path), None) => match self.read_file(path).await {
                Ok(bytes) => bytes,
                Err(message) => return failed(message),
            },
            (None, Some(b64)) => match BASE64.decode(b64.trim()) {
                Ok(bytes) => bytes,
                Err(e) => return failed(format!("`image_base64` is not valid base64: {e}")),
            },
            _ => return failed("give exactly one of `image_path` (a session file) and `image_base64`"),
        };
        let region = request.region.map(|r| Region { x: r.x, y: r.y, width: r.width, height: r.height });
        let polygon: Option<Vec<Point>> = request.polygon.map(|p| p.iter().map(|&[x, y]| Point { x, y }).collect());
        if polygon.as_ref().is_some_and(|p| p.len() < 3) {
            return failed("`polygon` needs at least 3 points");
        }
        let max_bytes = self.shared.config.max_image_bytes;
        let result = self
            .sandbox(move |rt| {
                let crop = RgbaImage::decode_region(&bytes, region, max_bytes)?;
                let region = region.unwrap_or(Region { x: 0, y: 0, width: crop.width(), height: crop.height() });
                let mask = rt.region_mask(tool, crop, region, polygon.as_deref())?;
                Ok::<_, mung_runtime::ExtractError>((region, mask))
            })
            .await;
        let (region, mask): (Region, Mask) = match result {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return failed(e.to_string()),
            Err(message) => return failed(message),
        };
        let mut answer = json!({
            "left": region.x,
            "top": region.y,
            "width": mask.width(),
            "height": mask.height(),
            "ink_pixels": mask.count(),
            "pixels": BASE64.encode(mask.pixels()),
        });
        if let Some(path) = request.save_as {
            let files = self.conn.files.clone();
            let png = mask.to_png();
            let saved = tokio::task::spawn_blocking(move || files.write(&path, &png).map(|()| path)).await;
            match saved {
                Ok(Ok(path)) => answer["saved_as"] = path.into(),
                Ok(Err(e)) => return failed(format!("the mask was made but not saved: {e}")),
                Err(_) => return failed("saving the mask failed unexpectedly"),
            }
        }
        Ok(CallToolResult::structured(answer))
    }
}
