//! Who may call: bearer tokens on the call routes, and a check of the
//! `Host` header so that a page on another site cannot reach a server on
//! loopback by DNS rebinding.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::problem::Problem;

/// The shortest token accepted (a guessable token protects nothing).
pub const MIN_TOKEN_LEN: usize = 16;

/// Who made a request, once [`require_token`] let it through: the index of
/// its token in [`ServerConfig::tokens`](crate::ServerConfig::tokens), or
/// `None` when the server has no tokens. Sessions are bound to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Caller(pub Option<usize>);

/// Why a token file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFileError {
    /// The file could not be read.
    #[error("cannot read the token file {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a usable token.
    #[error("{path}:{line}: {reason}")]
    Invalid {
        /// The file.
        path: std::path::PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// No token in the file.
    #[error("{0} holds no token (one a line; blank lines and lines starting with # are skipped)")]
    Empty(std::path::PathBuf),
}

/// Reads bearer tokens from `path`: one a line, surrounding blanks trimmed,
/// blank lines and lines starting with `#` skipped. Each must have at least
/// [`MIN_TOKEN_LEN`] characters, all visible ASCII (what an
/// `Authorization` header can carry).
pub fn read_token_file(path: &Path) -> Result<Vec<String>, TokenFileError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| TokenFileError::Read { path: path.to_path_buf(), source })?;
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let token = line.trim();
        if token.is_empty() || token.starts_with('#') {
            continue;
        }
        let invalid = |reason: String| TokenFileError::Invalid { path: path.to_path_buf(), line: i + 1, reason };
        if token.len() < MIN_TOKEN_LEN {
            return Err(invalid(format!(
                "a token must have at least {MIN_TOKEN_LEN} characters (try `openssl rand -hex 32`)"
            )));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("a token may hold only visible ASCII characters, no spaces".into()));
        }
        tokens.push(token.to_string());
    }
    if tokens.is_empty() {
        return Err(TokenFileError::Empty(path.to_path_buf()));
    }
    Ok(tokens)
}

/// The index of `presented` among `tokens`. Every token is compared, each
/// in constant time, so the answer's timing says nothing about any token.
fn find_token(tokens: &[String], presented: &[u8]) -> Option<usize> {
    let mut found = None;
    for (i, token) in tokens.iter().enumerate() {
        if bool::from(token.as_bytes().ct_eq(presented)) {
            found = Some(i);
        }
    }
    found
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = value.split_at(value.iter().position(|&b| b == b' ')?);
    scheme.eq_ignore_ascii_case(b"bearer").then(|| rest.trim_ascii())
}

/// 401 with the challenge of RFC 6750.
fn unauthorized(detail: &str, invalid: bool) -> Response {
    let mut response =
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required", detail).into_response();
    let challenge = if invalid {
        r#"Bearer realm="mung-runtime", error="invalid_token""#
    } else {
        r#"Bearer realm="mung-runtime""#
    };
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

/// Lets a request through with its [`Caller`] when the server has no tokens
/// or the request carries one of them; 401 otherwise.
pub(crate) async fn require_token(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let tokens = &state.config.tokens;
    let caller = if tokens.is_empty() {
        Caller(None)
    } else {
        match bearer(request.headers()) {
            None => {
                return unauthorized("this server needs `Authorization: Bearer <token>` on every /v1 route", false);
            }
            Some(presented) => match find_token(tokens, presented) {
                Some(i) => Caller(Some(i)),
                None => return unauthorized("the bearer token is not one of this server's tokens", true),
            },
        }
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Whether a `Host` header names this server: an IP address (which DNS
/// rebinding cannot forge), `localhost`, or one of `public_hosts`.
pub(crate) fn host_allowed(host: &str, public_hosts: &[String]) -> bool {
    let name =
        match host.strip_prefix('[') {
            // `[v6]:port`
            Some(rest) => match rest.split_once(']') {
                Some((v6, _)) => return v6.parse::<IpAddr>().is_ok(),
                None => return false,
            },
            None => host
                .rsplit_once(':')
                .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host }),
        };
    let name = name.trim_end_matches('.');
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || name.to_ascii_lowercase().ends_with(".localhost")
        || public_hosts.iter().any(|h| h.eq_ignore_ascii_case(name) || h.eq_ignore_ascii_case(host))
}

/// Refuses requests whose `Host` is a name this server was not told about
/// (`serve --public-host`): 421, so a rebinding page learns nothing.
pub(crate) async fn check_host(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).or(request.uri().host());
    match host {
        Some(host) if host_allowed(host, &state.config.public_hosts) => next.run(request).await,
        Some(host) => Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown-host",
            "Unknown host name",
            format!(
                "this server does not answer to the name {host:?}; start it with `--public-host NAME` for every \
                 name clients use (IP addresses and localhost are always accepted)"
            ),
        )
        .into_response(),
        None => Problem::bad_request("the request has no Host header").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_ip_addresses_localhost_or_named_public_hosts() {
        let public = vec!["mung.example.org".to_string()];
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "[::1]:80",
            "localhost:3000",
            "app.localhost",
            "mung.example.org",
            "MUNG.example.org:443",
            "10.0.0.7:8080",
        ] {
            assert!(host_allowed(ok, &public), "{ok}");
        }
        for bad in ["evil.example.com", "evil.example.com:8080", "127.0.0.1.evil.com", "[::1", "localhost.evil.com"] {
            assert!(!host_allowed(bad, &public), "{bad}");
        }
    }

    #[test]
    fn tokens_are_found_by_their_index() {
        let tokens = vec!["a".repeat(20), "b".repeat(20)];
        assert_eq!(find_token(&tokens, "b".repeat(20).as_bytes()), Some(1));
        assert_eq!(find_token(&tokens, b"bbbb"), None);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer(&headers), Some(&b"abc"[..]));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn token_files_skip_comments_and_refuse_short_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "# ops\n\n  0123456789abcdef0123  \nfedcba9876543210fedc\n").unwrap();
        assert_eq!(read_token_file(&path).unwrap().len(), 2);
        std::fs::write(&path, "short\n").unwrap();
        assert!(matches!(read_token_file(&path), Err(TokenFileError::Invalid { line: 1, .. })));
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(matches!(read_token_file(&path), Err(TokenFileError::Empty(_))));
    }
}
