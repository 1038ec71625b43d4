//! One MCP connection: its interpreter, its directory, and the protocol
//! handler (tools in [`crate::tools`], the files as resources here).

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use mung_runtime::{SESSION_GUEST_PATH, Session, SessionFiles, SessionOptions};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    Implementation, ListResourcesResult, PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool_handler};

use crate::{Permit, Shared};

/// The scheme of the resources that name a connection's files.
pub(crate) const RESOURCE_PREFIX: &str = "session:///";
/// The most files `resources/list` names.
const MAX_RESOURCES: usize = 1000;
/// The largest file `resources/read` returns.
pub(crate) const MAX_READ: u64 = 16 << 20;

/// What the server tells an agent once, at the start.
const INSTRUCTIONS: &str = "mung-runtime: a sandboxed CPython 3.15 with numpy, scipy, lxml, pillow and the MuNG \
    (Music Notation Graph) packages `mung` and `mstudio`. `run_python` keeps one interpreter for this connection: \
    names and imports persist between calls. Files you put with `write_file` (or that scripts write under \
    /session) persist too and are listed as resources `session:///PATH`. `validate_mung`, `fix_mung`, \
    `binarize_region` and `detect_stafflines` are MuNG Studio's own operations. No network; each call has a \
    deadline and a memory cap, and a call stopped by them loses the interpreter's state (files are kept).";

/// The MCP protocol handler of one connection.
#[derive(Clone)]
pub struct MungMcp {
    pub(crate) shared: Arc<Shared>,
    pub(crate) conn: Arc<Connection>,
    tool_router: ToolRouter<MungMcp>,
}

/// What one connection owns.
pub(crate) struct Connection {
    /// The interpreter (started by the first `run_python`); its lock
    /// serialises the connection's scripts.
    pub session: Arc<tokio::sync::Mutex<Session>>,
    pub files: SessionFiles,
    /// This connection's place among live interpreters, once it has one.
    pub place: Mutex<Option<Permit>>,
    /// Removed with the connection.
    _dir: tempfile::TempDir,
}

impl MungMcp {
    pub(crate) fn new(shared: Arc<Shared>) -> std::io::Result<MungMcp> {
        let parent = shared.config.dir.clone().unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new().prefix("mung-mcp-").tempdir_in(parent)?;
        let options = SessionOptions::new().files(dir.path()).files_quota(shared.config.files_quota);
        let session = shared.runtime.session_with(options).map_err(std::io::Error::other)?;
        let files = session.files().expect("made with a directory").clone();
        let conn = Connection {
            session: Arc::new(tokio::sync::Mutex::new(session)),
            files,
            place: Mutex::new(None),
            _dir: dir,
        };
        Ok(MungMcp { shared, conn: Arc::new(conn), tool_router: MungMcp::tool_router() })
    }

    /// Takes a place for this connection's interpreter if it has none yet.
    pub(crate) fn ensure_place(&self) -> Result<(), String> {
        let mut place = self.conn.place.lock().unwrap_or_else(|p| p.into_inner());
        if place.is_none() {
            *place = Some(self.shared.gate.interpreter()?);
        }
        Ok(())
    }
}

/// `session:///a/b.txt` → `a/b.txt`.
pub(crate) fn resource_path(uri: &str) -> Option<&str> {
    uri.strip_prefix(RESOURCE_PREFIX)
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for MungMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder().enable_tools().enable_resources().build();
        let mut info = ServerConfig::new(capabilities).with_instructions(INSTRUCTIONS);
        info.server_info = Implementation::new("mung-runtime", mung_runtime::VERSION);
        info.protocol_version = ProtocolVersion::V_2025_11_25;
        info
    }

    /// Revisions up to 2025-11-25: they have connections (stdio) and MCP
    /// sessions (HTTP), which is what keeps one interpreter per client;
    /// 2026-07-28 removed sessions.
    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let files = self.conn.files.clone();
        let listing = tokio::task::spawn_blocking(move || files.list(MAX_RESOURCES))
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let resources = listing
            .files
            .into_iter()
            .map(|f| {
                Resource::new(format!("{RESOURCE_PREFIX}{}", f.path), f.path.clone())
                    .with_description(format!("{SESSION_GUEST_PATH}/{} in the sandbox", f.path))
                    .with_size(f.size)
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.clone();
        let Some(path) = resource_path(&uri).map(str::to_owned) else {
            return Err(ErrorData::resource_not_found(
                format!("{uri} is not a file of this session (they are named {RESOURCE_PREFIX}PATH)"),
                None,
            ));
        };
        let files = self.conn.files.clone();
        let bytes = tokio::task::spawn_blocking(move || files.read(&path, MAX_READ))
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
            .map_err(|e| ErrorData::resource_not_found(e.to_string(), None))?;
        let contents = match String::from_utf8(bytes) {
            Ok(text) => ResourceContents::text(text, uri),
            Err(e) => ResourceContents::blob(base64::engine::general_purpose::STANDARD.encode(e.as_bytes()), uri),
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}
