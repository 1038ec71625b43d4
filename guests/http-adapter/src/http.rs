//! Reading a `wasi:http` request into memory and writing a response.

use wasip2::http::types::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};
use wasip2::io::streams::StreamError;

use crate::problem::{Problem, Problems as _};

/// The largest request body, as the native server's default `--max-body`.
pub(crate) const MAX_BODY: usize = 64 << 20;

/// A request, read whole.
pub(crate) struct Request {
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// Reads the request; a body over [`MAX_BODY`] is refused (from its
    /// `Content-Length` before reading it, or once it grows past the limit).
    pub(crate) fn read(request: IncomingRequest) -> Result<Request, Problem> {
        let method = match request.method() {
            Method::Get => "GET".to_string(),
            Method::Head => "HEAD".to_string(),
            Method::Post => "POST".to_string(),
            Method::Put => "PUT".to_string(),
            Method::Delete => "DELETE".to_string(),
            Method::Connect => "CONNECT".to_string(),
            Method::Options => "OPTIONS".to_string(),
            Method::Trace => "TRACE".to_string(),
            Method::Patch => "PATCH".to_string(),
            Method::Other(m) => m,
        };
        let target = request.path_with_query().unwrap_or_else(|| "/".into());
        let path = target.split('?').next().unwrap_or("/").to_string();
        let headers: Vec<(String, String)> = request
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let declared =
            headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            return Err(Problem::too_large());
        }
        let mut body = Vec::with_capacity(declared.unwrap_or(0) as usize);
        let incoming = request.consume().map_err(|()| Problem::bad_request("unreadable body: consumed twice"))?;
        {
            let stream = incoming.stream().map_err(|()| Problem::bad_request("unreadable body: no stream"))?;
            loop {
                match stream.blocking_read(1 << 16) {
                    Ok(chunk) => {
                        body.extend_from_slice(&chunk);
                        if body.len() > MAX_BODY {
                            return Err(Problem::too_large());
                        }
                    }
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        return Err(Problem::bad_request(format!("unreadable body: {}", e.to_debug_string())));
                    }
                }
            }
        }
        drop(incoming);
        Ok(Request { method, path, headers, body })
    }

    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The media type, lower-cased, without parameters.
    pub(crate) fn media_type(&self) -> String {
        self.header("content-type")
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// A response, built whole before it is sent.
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    pub(crate) fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response { status, headers: vec![("content-type".into(), content_type.as_bytes().to_vec())], body }
    }

    pub(crate) fn json(value: &serde_json::Value) -> Response {
        Response::new(200, "application/json", value.to_string().into_bytes())
    }

    pub(crate) fn header(mut self, name: &str, value: impl ToString) -> Response {
        self.headers.push((name.into(), value.to_string().into_bytes()));
        self
    }
}

/// Sends `response` (in chunks the output stream accepts).
pub(crate) fn send(out: ResponseOutparam, response: Response) {
    let mut headers = response.headers;
    headers.push(("content-length".into(), response.body.len().to_string().into_bytes()));
    let fields = Fields::from_list(&headers).unwrap_or_else(|_| Fields::new());
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(response.status);
    let Ok(body) = outgoing.body() else { return };
    ResponseOutparam::set(out, Ok(outgoing));
    {
        let Ok(stream) = body.write() else { return };
        for chunk in response.body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                // The client went away; nothing more to do.
                return;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}
