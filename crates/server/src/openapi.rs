//! The OpenAPI 3.1 description served at `/openapi.json`, built from one
//! table of routes (a test checks that the router serves exactly these).

use serde_json::{Map, Value, json};

/// One documented route.
#[derive(Clone, Copy, Debug)]
pub struct RouteDoc {
    /// `get`, `post`, `put` or `delete`.
    pub method: &'static str,
    /// The path.
    pub path: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Accepted request media types and the schema name of each.
    pub request: &'static [(&'static str, &'static str)],
    /// The success status.
    pub ok: u16,
    /// Success bodies: media type (chosen by `Accept` where there are
    /// several; the first is the default) and schema name.
    pub answers: &'static [(&'static str, &'static str)],
    /// Headers of a success response (described in the OpenAPI document's header table).
    pub headers: &'static [&'static str],
    /// Query parameters (described in the OpenAPI document's parameter table).
    pub query: &'static [&'static str],
    /// Error statuses it may answer with (all problem+json).
    pub errors: &'static [u16],
}

/// The response headers the routes use, with what they say.
pub const HEADERS: &[(&str, &str)] = &[
    ("X-Mung-Left", "The column of the mask's left edge on the page"),
    ("X-Mung-Top", "The row of the mask's top edge on the page"),
    ("X-Mung-Width", "The mask's width in pixels"),
    ("X-Mung-Height", "The mask's height in pixels"),
    ("X-Mung-Renamed", "How many nodes the fix renamed"),
];

/// The query parameters the routes take, with what they say.
pub const QUERY: &[(&str, &str)] = &[
    ("width", "With a raw RGBA body: its width (or the header X-Mung-Width)"),
    ("height", "With a raw RGBA body: its height (or the header X-Mung-Height)"),
    ("region", "With a raw RGBA body: x,y,w,h of the region to use (default: all of it)"),
    ("polygon", "With a raw RGBA body: x1,y1,x2,y2,... in page coordinates; only the mask inside it is kept"),
];

const CALL_ERRORS: &[u16] = &[400, 401, 408, 413, 415, 421, 422, 500, 503, 504];
const REGION: &[(&str, &str)] = &[
    ("multipart/form-data", "RegionForm"),
    ("application/json", "RegionRequest"),
    ("image/png", "Binary"),
    ("image/jpeg", "Binary"),
    (crate::body::RGBA, "Rgba"),
];
/// A mask: grey PNG by default, JSON or raw RGBA by `Accept`.
const MASK_ANSWERS: &[(&str, &str)] =
    &[("image/png", "Binary"), ("application/json", "Mask"), (crate::body::RGBA, "RgbaMask")];
const MASK_HEADERS: &[&str] = &["X-Mung-Left", "X-Mung-Top", "X-Mung-Width", "X-Mung-Height"];
const RAW_QUERY: &[&str] = &["width", "height", "region", "polygon"];

/// Every route of the server.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "get",
        path: "/",
        summary: "The page: validate a document, see its issues on the page image, fix it, binarize regions",
        request: &[],
        ok: 200,
        answers: &[("text/html", "Html")],
        headers: &[],
        query: &[],
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/healthz",
        summary: "The process is up",
        request: &[],
        ok: 200,
        answers: &[("application/json", "Status")],
        headers: &[],
        query: &[],
        errors: &[503],
    },
    RouteDoc {
        method: "get",
        path: "/readyz",
        summary: "The compiled component is loaded and warm instances answered",
        request: &[],
        ok: 200,
        answers: &[("application/json", "Status")],
        headers: &[],
        query: &[],
        errors: &[503],
    },
    RouteDoc {
        method: "get",
        path: "/metrics",
        summary: "Prometheus/OpenMetrics text: requests by route and status, latency, instances, queue, sandbox stops",
        request: &[],
        ok: 200,
        answers: &[("application/openmetrics-text", "Text")],
        headers: &[],
        query: &[],
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/openapi.json",
        summary: "This description",
        request: &[],
        ok: 200,
        answers: &[("application/json", "Object")],
        headers: &[],
        query: &[],
        errors: &[],
    },
    RouteDoc {
        method: "post",
        path: "/v1/validate",
        summary: "Validate a MuNG document (MuNG Studio's rules and issue objects)",
        request: &[("application/xml", "MungXml"), ("text/xml", "MungXml")],
        ok: 200,
        answers: &[("application/json", "ValidationResult")],
        headers: &[],
        query: &[],
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/fix",
        summary: "Apply every automatic fix (class renames); X-Mung-Renamed tells how many",
        request: &[("application/xml", "MungXml"), ("text/xml", "MungXml")],
        ok: 200,
        answers: &[("application/xml", "MungXml")],
        headers: &["X-Mung-Renamed"],
        query: &[],
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/validate/batch",
        summary: "Validate many documents (zip or multipart); one NDJSON line per document as it finishes",
        request: &[("application/zip", "Binary"), ("multipart/form-data", "BatchForm")],
        ok: 200,
        answers: &[("application/x-ndjson", "BatchLine")],
        headers: &[],
        query: &[],
        errors: &[400, 401, 408, 413, 415, 421, 422, 503],
    },
    RouteDoc {
        method: "post",
        path: "/v1/execute",
        summary: "Run untrusted Python in a fresh sandbox (only with `serve --allow-execute`)",
        request: &[("application/json", "ExecuteRequest")],
        ok: 200,
        answers: &[("application/json", "ExecuteResult")],
        headers: &[],
        query: &[],
        errors: &[400, 401, 403, 408, 413, 415, 421, 422, 500, 503, 504],
    },
    RouteDoc {
        method: "post",
        path: "/v1/sessions",
        summary: "Create a session: a persistent interpreter with a files directory, bound to the caller's token; 201 with Location (only with `serve --allow-execute`)",
        request: &[("application/json", "SessionRequest")],
        ok: 201,
        answers: &[("application/json", "Session")],
        headers: &[],
        query: &[],
        errors: &[400, 403, 413, 415, 500, 503],
    },
    RouteDoc {
        method: "get",
        path: "/v1/sessions/{id}",
        summary: "A session's limits, expiry, files in use and usage so far",
        request: &[],
        ok: 200,
        answers: &[("application/json", "SessionState")],
        headers: &[],
        query: &[],
        errors: &[404],
    },
    RouteDoc {
        method: "post",
        path: "/v1/sessions/{id}/execute",
        summary: "Run Python in the session: names, imports and files persist; calls take turns (409 after waiting a deadline); a sandbox stop ends the interpreter (state_lost), not the files",
        request: &[("application/json", "ExecuteRequest")],
        ok: 200,
        answers: &[("application/json", "ExecuteResult")],
        headers: &[],
        query: &[],
        errors: &[400, 403, 404, 409, 413, 415, 422, 500, 503, 504],
    },
    RouteDoc {
        method: "get",
        path: "/v1/sessions/{id}/files",
        summary: "The session's files with their sizes, the bytes used and the quota",
        request: &[],
        ok: 200,
        answers: &[("application/json", "FileListing")],
        headers: &[],
        query: &[],
        errors: &[404],
    },
    RouteDoc {
        method: "put",
        path: "/v1/sessions/{id}/files/{path}",
        summary: "Upload a file (streamed to disk; the script sees it at /session/{path}); 201 new, 200 replaced; 413 larger than the quota, 507 larger than what is left",
        request: &[("application/octet-stream", "Binary")],
        ok: 201,
        answers: &[("application/json", "FileWritten")],
        headers: &[],
        query: &[],
        errors: &[400, 404, 409, 413, 507],
    },
    RouteDoc {
        method: "get",
        path: "/v1/sessions/{id}/files/{path}",
        summary: "Download a file (streamed); symbolic links are not followed",
        request: &[],
        ok: 200,
        answers: &[("application/octet-stream", "Binary")],
        headers: &[],
        query: &[],
        errors: &[400, 404],
    },
    RouteDoc {
        method: "delete",
        path: "/v1/sessions/{id}/files/{path}",
        summary: "Remove a file, or a directory with its contents",
        request: &[],
        ok: 204,
        answers: &[("application/json", "Empty")],
        headers: &[],
        query: &[],
        errors: &[400, 404, 409],
    },
    RouteDoc {
        method: "delete",
        path: "/v1/sessions/{id}",
        summary: "End a session now, with its interpreter and files (a call still running finishes first)",
        request: &[],
        ok: 204,
        answers: &[("application/json", "Empty")],
        headers: &[],
        query: &[],
        errors: &[404],
    },
    RouteDoc {
        method: "post",
        path: "/mcp",
        summary: "The Model Context Protocol over streamable HTTP (only with `serve --mcp`): tools run_python (one interpreter per MCP session), write_file, validate_mung, fix_mung, binarize_region, detect_stafflines; the session's files as resources",
        request: &[("application/json", "Object")],
        ok: 200,
        answers: &[("text/event-stream", "Text")],
        headers: &[],
        query: &[],
        errors: &[400, 401, 403, 404, 406, 415],
    },
    RouteDoc {
        method: "post",
        path: "/v1/extract/binarize",
        summary: "Binarize a page region (Otsu on bilateral-filtered lightness), optionally inside a polygon; a grey PNG, JSON (Accept: application/json) or MuNG Studio's RGBA (Accept: application/vnd.mung.rgba)",
        request: REGION,
        ok: 200,
        answers: MASK_ANSWERS,
        headers: MASK_HEADERS,
        query: RAW_QUERY,
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/extract/stafflines",
        summary: "Detect stafflines in a page region; a grey PNG, JSON or RGBA mask as for binarize",
        request: REGION,
        ok: 200,
        answers: MASK_ANSWERS,
        headers: MASK_HEADERS,
        query: RAW_QUERY,
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/extract/fill-polygon",
        summary: "A mask with a polygon filled exactly like OpenCV's fillPoly",
        request: &[("application/json", "FillPolygonRequest")],
        ok: 200,
        answers: MASK_ANSWERS,
        headers: MASK_HEADERS,
        query: &[],
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/extract/cut-lines",
        summary: "Polylines between the separate lines of a mask",
        request: &[("image/png", "Binary"), ("application/json", "MaskRequest"), (crate::body::RGBA, "Rgba")],
        ok: 200,
        answers: &[("application/json", "CutLines")],
        headers: &[],
        query: &["width", "height"],
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/extract/separate",
        summary: "Split a placed mask into bands along cut lines",
        request: &[("application/json", "SeparateRequest")],
        ok: 200,
        answers: &[("application/json", "Bands")],
        headers: &[],
        query: &[],
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/extract/staff",
        summary: "The staff node spanning 5 staffLine nodes",
        request: &[("application/json", "NodesRequest")],
        ok: 200,
        answers: &[("application/json", "NodeResult")],
        headers: &[],
        query: &[],
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/extract/staffspaces",
        summary: "The 6 staffSpace nodes of each staff",
        request: &[("application/json", "NodesRequest")],
        ok: 200,
        answers: &[("application/json", "NodesResult")],
        headers: &[],
        query: &[],
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/extract/snap",
        summary: "Link noteheads, rests, clefs, ... to their staff",
        request: &[("application/json", "NodesRequest")],
        ok: 200,
        answers: &[("application/json", "NodesResult")],
        headers: &[],
        query: &[],
        errors: CALL_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/v1/extract/insert-node",
        summary: "Append a node with a mask to a MuNG document",
        request: &[("application/json", "InsertNodeRequest")],
        ok: 200,
        answers: &[("application/json", "InsertNodeResult")],
        headers: &[],
        query: &[],
        errors: CALL_ERRORS,
    },
];

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The shapes of the session routes.
fn session_schemas() -> Value {
    let int = json!({"type": "integer"});
    json!({
        "Usage": {"type": "object", "description": "What a script cost", "properties": {"wall_ms": {"type": "number"},
            "memory_peak_bytes": int, "fuel": {"type": "integer", "description": "only when the server meters fuel"}},
            "required": ["wall_ms", "memory_peak_bytes"]},
        "Empty": {"type": "null"},
        "Size": {"oneOf": [{"type": "integer", "description": "bytes"}, {"type": "string", "description": "e.g. 512M, 1G"}]},
        "SessionRequest": {"type": "object", "description": "Every field is optional and capped by the server's own limits",
            "properties": {"ttl": {"type": "number", "description": "idle seconds before it expires"}, "memory": schema_ref("Size"),
                "timeout": {"type": "number", "description": "seconds per call"}, "files_quota": schema_ref("Size")}},
        "SessionLimits": {"type": "object", "properties": {"ttl": {"type": "number"}, "max_lifetime": {"type": "number"},
            "memory": int, "timeout": {"type": "number"}, "files_quota": int},
            "required": ["ttl", "max_lifetime", "memory", "timeout", "files_quota"]},
        "Session": {"type": "object", "properties": {"id": {"type": "string", "description": "32 hex digits (128 random bits)"},
            "expires_at": {"type": "string", "format": "date-time"}, "limits": schema_ref("SessionLimits")},
            "required": ["id", "expires_at", "limits"]},
        "SessionState": {"type": "object", "properties": {"id": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"}, "limits": schema_ref("SessionLimits"),
            "interpreter_started": {"type": ["boolean", "null"], "description": "null while a call runs"}, "busy": {"type": "boolean"},
            "files_used": {"type": ["integer", "null"]},
            "usage": {"type": "object", "properties": {"calls": int, "wall_ms": {"type": "number"}, "memory_peak_bytes": int, "fuel": int}}},
            "required": ["id", "created_at", "expires_at", "limits", "usage"]},
        "FileListing": {"type": "object", "properties": {"files": {"type": "array", "items": {"type": "object",
            "properties": {"path": {"type": "string"}, "size": int}, "required": ["path", "size"]}},
            "used": int, "quota": int, "truncated": {"type": "boolean"}}, "required": ["files", "used", "quota", "truncated"]},
        "FileWritten": {"type": "object", "properties": {"path": {"type": "string"}, "size": int}, "required": ["path", "size"]}
    })
}

fn schemas() -> Value {
    let int = json!({"type": "integer"});
    let ints = json!({"type": "array", "items": {"type": "integer"}});
    let point = json!({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2});
    let polyline = json!({"type": "array", "items": point});
    json!({
        "Html": {"type": "string"},
        "Text": {"type": "string"},
        "Object": {"type": "object"},
        "Binary": {"type": "string", "contentMediaType": "application/octet-stream"},
        "Rgba": {"type": "string", "contentMediaType": crate::body::RGBA,
            "description": "width × height × 4 bytes, row-major RGBA (ImageData.data); the size in X-Mung-Width/X-Mung-Height or ?width=&height=. As a mask, a pixel is inside when its alpha is not 0"},
        "RgbaMask": {"type": "string", "contentMediaType": crate::body::RGBA,
            "description": "width × height × 4 bytes: R = A = 255 inside the mask, all 0 outside (MuNG Studio's convention); the size in X-Mung-Width/X-Mung-Height"},
        "MungXml": {"type": "string", "description": "A MuNG XML document (root <Nodes>)"},
        "Status": {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]},
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details",
            "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": int, "detail": {"type": "string"},
                "message": {"type": "string", "description": "On a 422 caused by the input: the bare message, what MuNG Studio shows"}},
            "required": ["type", "title", "status", "detail"]
        },
        "ValidationIssue": {
            "type": "object",
            "properties": {
                "code": int, "message": {"type": "string"}, "nodeId": int,
                "resolution": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {"operations": {"type": "array", "items": {
                    "type": "object", "properties": {"updateNodeId": int, "newClassName": {"type": "string"}}}}}}]},
                "fingerprint": {"type": ["string", "null"]}
            },
            "required": ["code", "message", "nodeId", "resolution", "fingerprint"]
        },
        "ValidationResult": {"type": "object", "properties": {"issues": {"type": "array", "items": schema_ref("ValidationIssue")}}, "required": ["issues"]},
        "BatchLine": {"type": "object", "description": "One line per document: {file, issues} or {file, error: {kind, message}}",
            "properties": {"file": {"type": "string"}, "issues": {"type": "array", "items": schema_ref("ValidationIssue")},
                "error": {"type": "object", "properties": {"kind": {"type": "string"}, "message": {"type": "string"}}}}, "required": ["file"]},
        "BatchForm": {"type": "object", "additionalProperties": {"type": "string", "contentMediaType": "application/xml"}},
        "ExecuteRequest": {"type": "object", "properties": {"code": {"type": "string"}, "globals": {"type": "object"}}, "required": ["code"]},
        "ExecuteResult": {"type": "object", "properties": {"value": {}, "stdout": {"type": "string"}, "stderr": {"type": "string"},
            "stdout_truncated": {"type": "boolean"}, "stderr_truncated": {"type": "boolean"}, "usage": schema_ref("Usage"),
            "exit_code": {"type": "integer", "description": "0 when the script ended with sys.exit(0)"}},
            "required": ["value", "stdout", "stderr", "usage"]},
        "Region": {"oneOf": [
            {"type": "string", "pattern": "^\\s*\\d+\\s*,\\s*\\d+\\s*,\\s*\\d+\\s*,\\s*\\d+\\s*$"},
            {"type": "array", "items": int, "minItems": 4, "maxItems": 4},
            {"type": "object", "properties": {"x": int, "y": int, "width": int, "height": int}, "required": ["x", "y", "width", "height"]}
        ]},
        "Points": {"oneOf": [{"type": "string"}, polyline]},
        "RegionForm": {"type": "object", "properties": {"image": {"type": "string", "contentMediaType": "image/png"},
            "region": {"type": "string"}, "polygon": {"type": "string"}}, "required": ["image"]},
        "RegionRequest": {"type": "object", "properties": {"image": {"type": "string", "contentEncoding": "base64"},
            "region": schema_ref("Region"), "polygon": schema_ref("Points")}, "required": ["image"]},
        "Mask": {"type": "object", "properties": {"left": int, "top": int, "width": int, "height": int,
            "pixels": {"type": "string", "contentEncoding": "base64", "description": "width*height bytes, 0 or 1"}},
            "required": ["width", "height", "pixels"]},
        "MaskRequest": {"type": "object", "properties": {"mask": schema_ref("Mask")}, "required": ["mask"]},
        "FillPolygonRequest": {"type": "object", "properties": {"width": int, "height": int, "polygon": schema_ref("Points")},
            "required": ["width", "height", "polygon"]},
        "CutLines": {"type": "object", "properties": {"cut_lines": {"type": "array", "items": polyline}}, "required": ["cut_lines"]},
        "SeparateRequest": {"type": "object", "properties": {"mask": schema_ref("Mask"), "cut_lines": {"type": "array", "items": polyline}},
            "required": ["mask", "cut_lines"]},
        "Bands": {"type": "object", "properties": {"bands": {"type": "array", "items": schema_ref("Mask")}}, "required": ["bands"]},
        "Node": {"type": "object", "properties": {"id": int, "class_name": {"type": "string"}, "top": int, "left": int,
            "width": int, "height": int, "outlinks": ints, "inlinks": ints, "precedence_outlinks": ints,
            "precedence_inlinks": ints, "text_transcription": {"type": "string"}, "mask": schema_ref("Mask")},
            "required": ["id", "class_name", "top", "left", "width", "height"]},
        "NodesRequest": {"type": "object", "properties": {"nodes": {"type": "array", "items": schema_ref("Node")}}, "required": ["nodes"]},
        "NodesResult": {"type": "object", "properties": {"nodes": {"type": "array", "items": schema_ref("Node")}}, "required": ["nodes"]},
        "NodeResult": {"type": "object", "properties": {"node": schema_ref("Node")}, "required": ["node"]},
        "InsertNodeRequest": {"type": "object", "properties": {"document": {"type": "string"}, "class_name": {"type": "string"},
            "mask": schema_ref("Mask")}, "required": ["document", "class_name", "mask"]},
        "InsertNodeResult": {"type": "object", "properties": {"document": {"type": "string"}, "id": int}, "required": ["document", "id"]}
    })
}

fn all_schemas() -> Value {
    let mut all = schemas();
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), session_schemas()) {
        all.extend(more);
    }
    all
}

/// The OpenAPI 3.1 document.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut responses = Map::new();
        let content: Map<String, Value> =
            route.answers.iter().map(|(m, schema)| (m.to_string(), json!({"schema": schema_ref(schema)}))).collect();
        let headers: Map<String, Value> = route
            .headers
            .iter()
            .map(|name| {
                let about = HEADERS.iter().find(|(n, _)| n == name).map_or("", |(_, d)| d);
                (name.to_string(), json!({"description": about, "schema": {"type": "integer"}}))
            })
            .collect();
        let mut ok = json!({"description": "Success", "content": content});
        if !headers.is_empty() {
            ok["headers"] = Value::Object(headers);
        }
        responses.insert(route.ok.to_string(), ok);
        for code in route.errors {
            let description =
                axum::http::StatusCode::from_u16(*code).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
            responses.insert(
                code.to_string(),
                json!({"description": description, "content": {crate::PROBLEM_JSON: {"schema": schema_ref("Problem")}}}),
            );
        }
        let mut operation = json!({
            "summary": route.summary,
            "operationId": format!("{}{}", route.method, route.path.replace(['/', '-', '.', '{', '}'], "_")),
            "responses": responses,
        });
        let in_path = route
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
        let in_query = route.query.iter().map(|name| {
            let about = QUERY.iter().find(|(n, _)| n == name).map_or("", |(_, d)| d);
            json!({"name": name, "in": "query", "required": false, "description": about, "schema": {"type": "string"}})
        });
        let parameters: Vec<Value> = in_path.chain(in_query).collect();
        if !parameters.is_empty() {
            operation["parameters"] = parameters.into();
        }
        if !route.request.is_empty() {
            let content: Map<String, Value> =
                route.request.iter().map(|(m, s)| (m.to_string(), json!({"schema": schema_ref(s)}))).collect();
            operation["requestBody"] = json!({"required": true, "content": content});
        }
        if route.path.starts_with("/v1/") || route.path == "/mcp" {
            operation["security"] = json!([{"bearer": []}, {}]);
        }
        let item = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        item[route.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mung-runtime",
            "version": mung_runtime::VERSION,
            "description": "A sandboxed Python runtime for MuNG (Music Notation Graph) documents, over HTTP. Every error is application/problem+json (RFC 9457).",
            "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"}
        },
        "paths": paths,
        "components": {
            "schemas": all_schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "Needed on /v1 routes when the server was started with --token-file"}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves_and_every_route_is_described() {
        let doc = openapi();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let text = doc.to_string();
        for piece in text.split("#/components/schemas/").skip(1) {
            let name: String = piece.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "dangling $ref {name}");
        }
        for route in ROUTES {
            assert!(doc["paths"][route.path][route.method].is_object(), "{} {}", route.method, route.path);
            for header in route.headers {
                assert!(HEADERS.iter().any(|(h, _)| h == header), "undescribed header {header}");
            }
            for name in route.query {
                assert!(QUERY.iter().any(|(q, _)| q == name), "undescribed query parameter {name}");
            }
        }
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
