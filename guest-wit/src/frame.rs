//! The binary frames that carry a call's arguments to Python and its result
//! back (the Python side is documented in `prelude.py`).
//!
//! General form: kind byte 0, `u32` little-endian header length `H`, `H`
//! bytes of JSON header, then the blob area. The header refers to blob `i` as
//! `{"$blob": i}`; the blob table (`"blobs": [[offset, len], ...]`, relative
//! to the blob area) sits in the header. Images and masks therefore travel as
//! raw bytes, never as JSON numbers.
//!
//! Fast form for `execute` (kind 1): code length, code, globals JSON; its
//! successful reply is kind 1 followed by the value's JSON.

use serde::Deserialize;
use serde_json::{Map, Value, json};

const KIND_GENERAL: u8 = 0;
const KIND_EXECUTE: u8 = 1;

/// The fast frame of `execute`.
pub(crate) fn execute_frame(code: &str, globals_json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + code.len() + globals_json.len());
    out.push(KIND_EXECUTE);
    out.extend_from_slice(&(code.len() as u32).to_le_bytes());
    out.extend_from_slice(code.as_bytes());
    out.extend_from_slice(globals_json.as_bytes());
    out
}

/// A frame being built: a JSON header plus blobs.
pub(crate) struct Frame<'a> {
    op: &'static str,
    args: Map<String, Value>,
    blobs: Vec<&'a [u8]>,
}

impl<'a> Frame<'a> {
    pub(crate) fn new(op: &'static str) -> Self {
        Frame { op, args: Map::new(), blobs: Vec::new() }
    }

    /// Adds a JSON argument.
    pub(crate) fn arg(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.args.insert(name.to_string(), value.into());
        self
    }

    /// Adds a blob and returns the JSON value that refers to it.
    pub(crate) fn blob(&mut self, bytes: &'a [u8]) -> Value {
        self.blobs.push(bytes);
        json!({ "$blob": self.blobs.len() - 1 })
    }

    /// Adds a blob argument.
    pub(crate) fn blob_arg(mut self, name: &str, bytes: &'a [u8]) -> Self {
        let r = self.blob(bytes);
        self.args.insert(name.to_string(), r);
        self
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut offset = 0usize;
        let table: Vec<[usize; 2]> = self
            .blobs
            .iter()
            .map(|b| {
                let entry = [offset, b.len()];
                offset += b.len();
                entry
            })
            .collect();
        let header = json!({ "op": self.op, "args": self.args, "blobs": table });
        let header = serde_json::to_vec(&header).expect("a JSON value always serialises");
        let mut out = Vec::with_capacity(5 + header.len() + offset);
        out.push(KIND_GENERAL);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        for b in &self.blobs {
            out.extend_from_slice(b);
        }
        out
    }
}

/// A decoded reply frame.
pub(crate) enum Reply {
    /// The general form.
    General { header: ReplyHeader, bytes: Vec<u8>, blob_start: usize },
    /// The successful reply to a fast `execute`: the value's JSON.
    Value(Vec<u8>),
}

#[derive(Deserialize)]
pub(crate) struct ReplyHeader {
    ok: bool,
    #[serde(default)]
    value: Value,
    #[serde(default)]
    error: Option<ErrorReply>,
    #[serde(default)]
    blobs: Vec<[usize; 2]>,
}

/// The error half of a reply.
#[derive(Deserialize, Debug, Clone)]
pub(crate) struct ErrorReply {
    /// `invalid-input`, `unsupported`, `internal`, or one of python's kinds.
    pub kind: String,
    #[serde(default, rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub traceback: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
}

impl ErrorReply {
    pub(crate) fn describe(&self) -> String {
        if self.kind == "internal" && !self.traceback.is_empty() {
            format!("{}: {}\n{}", self.type_name, self.message, self.traceback)
        } else {
            self.message.clone()
        }
    }
}

impl Reply {
    pub(crate) fn decode(mut bytes: Vec<u8>) -> Result<Reply, String> {
        match bytes.first() {
            Some(&KIND_EXECUTE) => {
                bytes.remove(0);
                return Ok(Reply::Value(bytes));
            }
            Some(&KIND_GENERAL) if bytes.len() >= 5 => {}
            _ => return Err(format!("a reply of {} bytes has no valid kind", bytes.len())),
        }
        let hlen = u32::from_le_bytes(bytes[1..5].try_into().unwrap()) as usize;
        let end = 5usize.checked_add(hlen).filter(|&e| e <= bytes.len()).ok_or("header length out of range")?;
        let header: ReplyHeader = serde_json::from_slice(&bytes[5..end]).map_err(|e| e.to_string())?;
        let area = bytes.len() - end;
        if header.blobs.iter().any(|&[o, l]| o.checked_add(l).is_none_or(|e| e > area)) {
            return Err("blob out of range".into());
        }
        Ok(Reply::General { header, bytes, blob_start: end })
    }

    pub(crate) fn error(&self) -> Option<ErrorReply> {
        let Reply::General { header, .. } = self else { return None };
        if header.ok {
            None
        } else {
            Some(header.error.clone().unwrap_or(ErrorReply {
                kind: "internal".into(),
                type_name: String::new(),
                message: "error reply without details".into(),
                traceback: String::new(),
                exit_code: None,
            }))
        }
    }

    /// The reply's JSON value (null for a fast reply).
    pub(crate) fn value(&self) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Reply::General { header, .. } => &header.value,
            Reply::Value(_) => &NULL,
        }
    }

    /// The blob that `reference` (`{"$blob": i}`) names.
    pub(crate) fn blob(&self, reference: &Value) -> Result<&[u8], String> {
        let Reply::General { header, bytes, blob_start } = self else {
            return Err("a fast reply has no blobs".into());
        };
        let index = reference
            .get("$blob")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("expected a blob reference, found {reference}"))? as usize;
        let [o, l] = *header.blobs.get(index).ok_or_else(|| format!("no blob {index}"))?;
        Ok(&bytes[blob_start + o..blob_start + o + l])
    }
}
