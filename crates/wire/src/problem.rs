//! Error answers as RFC 9457 problem details: the catalogue of problem
//! types (one slug, title and status each) and the body they make.

use serde_json::{Map, Value};

/// Where the problem types are described: `type` is this plus the slug.
pub const TYPE_BASE: &str = "https://mung-runtime.dev/problems/";

/// A problem type: what every problem of the kind shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProblemType {
    /// Names the type in `type` (after [`TYPE_BASE`]); clients match on it.
    pub slug: &'static str,
    /// A short summary, the same for every problem of the type.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
}

macro_rules! catalogue {
    ($($(#[$doc:meta])* $name:ident = $status:literal, $slug:literal, $title:literal;)*) => {
        impl ProblemType {
            $($(#[$doc])* pub const $name: ProblemType = ProblemType { slug: $slug, title: $title, status: $status };)*
        }

        /// Every problem type, for documentation and tests.
        pub const CATALOGUE: &[ProblemType] = &[$(ProblemType::$name),*];
    };
}

catalogue! {
    /// The request is malformed (a missing field, an empty body, bad base64).
    BAD_REQUEST = 400, "bad-request", "Malformed request";
    /// A token is missing or wrong.
    UNAUTHORIZED = 401, "unauthorized", "Authentication required";
    /// `execute` and sessions are off (`serve --allow-execute`).
    EXECUTE_DISABLED = 403, "execute-disabled", "Execution is disabled";
    /// No route, or no page asset, by that path.
    NOT_FOUND = 404, "not-found", "Not found";
    /// The route exists, with other methods.
    METHOD_NOT_ALLOWED = 405, "method-not-allowed", "Method not allowed";
    /// No session by that id (it may have expired).
    NO_SESSION = 404, "no-session", "No such session";
    /// No file by that path in the session.
    NO_FILE = 404, "no-file", "No such file";
    /// A session file path that is absolute, climbs out or is not UTF-8.
    BAD_PATH = 400, "bad-path", "Unusable file path";
    /// The client stopped sending its body.
    BODY_STALLED = 408, "body-stalled", "Request body stalled";
    /// Another call of the session is running.
    SESSION_BUSY = 409, "session-busy", "Session busy";
    /// The body is larger than a limit.
    TOO_LARGE = 413, "too-large", "Request body too large";
    /// The body's media type is not accepted by the route.
    UNSUPPORTED_MEDIA_TYPE = 415, "unsupported-media-type", "Unsupported media type";
    /// The Host header names none of the server's names.
    UNKNOWN_HOST = 421, "unknown-host", "Unknown host name";
    /// The MuNG document cannot be read (not XML, not MuNG, duplicate ids).
    INVALID_DOCUMENT = 422, "invalid-document", "Unreadable MuNG document";
    /// An image, mask, region or node list the operation cannot use.
    INVALID_INPUT = 422, "invalid-input", "Unusable input";
    /// The operation does not apply to this input (e.g. no staff lines).
    NOT_APPLICABLE = 422, "not-applicable", "Operation does not apply";
    /// A batch archive that cannot be read safely.
    UNUSABLE_ARCHIVE = 422, "unusable-archive", "Unusable archive";
    /// The script raised an exception or exited with a non-zero status.
    PYTHON_ERROR = 422, "python-error", "The script failed";
    /// The sandbox stopped the call (memory, fuel, trap).
    SANDBOX_STOP = 422, "sandbox-stop", "Stopped by the sandbox";
    /// A bug or a failure of the host; the server goes on.
    INTERNAL = 500, "internal", "Internal error";
    /// Every sandbox is busy and the queue is full.
    OVERLOADED = 503, "overloaded", "Server busy";
    /// No sandbox could be started.
    NO_SANDBOX = 503, "no-sandbox", "No sandbox available";
    /// As many sessions as allowed are alive.
    SESSIONS_FULL = 503, "sessions-full", "Too many sessions";
    /// The server is draining its connections.
    SHUTTING_DOWN = 503, "shutting-down", "Server shutting down";
    /// The connection limit is reached (only health checks are answered).
    TOO_MANY_CONNECTIONS = 503, "too-many-connections", "Too many connections";
    /// `/readyz` while the server cannot take work.
    NOT_READY = 503, "not-ready", "Not ready";
    /// The session's files quota is full.
    QUOTA = 507, "quota", "Files quota full";
    /// The call ran past its deadline.
    DEADLINE = 504, "deadline", "Deadline exceeded";
}

/// One problem: its type, what happened this time, and extension members.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The type.
    pub kind: ProblemType,
    /// What happened this time, for a person.
    pub detail: String,
    /// Extension members, after the standard ones.
    pub extensions: Map<String, Value>,
}

impl Problem {
    /// A problem without extensions.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Problem {
        Problem { kind, detail: detail.into(), extensions: Map::new() }
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Problem {
        self.extensions.insert(key.into(), value.into());
        self
    }

    /// A document the validator cannot read; `message` is the validator's
    /// own text (what `mung-runtime validate` prints), also in `detail`.
    pub fn invalid_document(message: impl Into<String>) -> Problem {
        let message = message.into();
        Problem::new(ProblemType::INVALID_DOCUMENT, message.clone()).with("message", message)
    }

    /// Input an extraction cannot use; `message` is the guest's text.
    pub fn invalid_input(message: impl Into<String>) -> Problem {
        let message = message.into();
        Problem::new(ProblemType::INVALID_INPUT, format!("invalid input: {message}")).with("message", message)
    }

    /// An extraction that does not apply; `message` is the guest's text.
    pub fn not_applicable(message: impl Into<String>) -> Problem {
        let message = message.into();
        Problem::new(ProblemType::NOT_APPLICABLE, message.clone()).with("message", message)
    }

    /// The body: `type`, `title`, `status`, `detail` and the extensions.
    pub fn body(&self) -> Value {
        body(self.kind, &self.detail, &self.extensions)
    }
}

/// The body of a problem of type `kind`: `type`, `title`, `status`,
/// `detail` and the extension members.
pub fn body(kind: ProblemType, detail: &str, extensions: &Map<String, Value>) -> Value {
    let mut body = Map::new();
    body.insert("type".into(), format!("{TYPE_BASE}{}", kind.slug).into());
    body.insert("title".into(), kind.title.into());
    body.insert("status".into(), kind.status.into());
    body.insert("detail".into(), detail.into());
    for (k, v) in extensions {
        body.insert(k.clone(), v.clone());
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_titles_short() {
        for (i, a) in CATALOGUE.iter().enumerate() {
            assert!(CATALOGUE[i + 1..].iter().all(|b| b.slug != a.slug), "{} twice", a.slug);
            assert!((400..600).contains(&a.status) && a.title.len() < 40, "{a:?}");
        }
    }

    #[test]
    fn the_message_member_carries_the_guests_text() {
        let body = Problem::invalid_input("region outside the image").body();
        assert_eq!(body["type"], "https://mung-runtime.dev/problems/invalid-input");
        assert_eq!(body["status"], 422);
        assert_eq!(body["detail"], "invalid input: region outside the image");
        assert_eq!(body["message"], "region outside the image");
    }
}
