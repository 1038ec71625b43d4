//! `/mcp`: the Model Context Protocol over streamable HTTP (`serve --mcp`),
//! behind the same layers as every route. Its calls share the server's
//! admission, and its interpreters count against `max_sessions`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use mung_runtime_mcp::{Gate, McpConfig, Permit};

use crate::AppState;

/// The server's admission and session places, as the MCP tools see them.
struct ServerGate(Arc<AppState>);

impl Gate for ServerGate {
    fn call(&self) -> Pin<Box<dyn Future<Output = Result<Permit, String>> + Send + '_>> {
        Box::pin(async move {
            let ticket = self.0.admission.admit().map_err(|p| format!("{}; retry in a second", p.detail))?;
            let slot = self.0.admission.run_slot().await;
            Ok(Box::new((ticket, slot)) as Permit)
        })
    }

    fn interpreter(&self) -> Result<Permit, String> {
        match self.0.sessions.places.clone().try_acquire_owned() {
            Ok(place) => Ok(Box::new(place)),
            Err(_) => Err(format!(
                "the server holds its maximum of {} live sessions; retry later",
                self.0.sessions.config().max_sessions
            )),
        }
    }
}

/// The `/mcp` route.
pub(crate) fn routes(state: &Arc<AppState>) -> axum::Router<Arc<AppState>> {
    let sessions = state.sessions.config();
    let mut config = McpConfig::default();
    config.files_quota = sessions.files_quota;
    config.dir = sessions.dir.clone();
    config.max_image_bytes = state.config.image_bound();
    config.idle_ttl = sessions.idle_ttl;
    let service = mung_runtime_mcp::http_service(
        state.runtime.clone(),
        config,
        ServerGate(state.clone()),
        // The server's own Host check (`auth.rs`) guards every route, this
        // one included, with the `--public-host` names.
        Vec::new(),
        state.config.cors_origins.clone(),
        state.mcp_cancel.clone(),
    );
    axum::Router::new().route_service("/mcp", service)
}
