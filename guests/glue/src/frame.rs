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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reply frame as the prelude builds it.
    fn reply(header: &Value, blobs: &[&[u8]]) -> Vec<u8> {
        let header = serde_json::to_vec(header).unwrap();
        let mut out = vec![KIND_GENERAL];
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        for b in blobs {
            out.extend_from_slice(b);
        }
        out
    }

    #[test]
    fn a_call_frame_carries_args_and_blobs_raw() {
        let pixels = [1u8, 2, 3, 4];
        let mut f = Frame::new("op").arg("n", 7);
        let r = f.blob(&pixels);
        let f = f.arg("image", json!({"data": r})).blob_arg("xml", b"<Nodes/>");
        let bytes = f.encode();
        assert_eq!(bytes[0], KIND_GENERAL);
        let hlen = u32::from_le_bytes(bytes[1..5].try_into().unwrap()) as usize;
        let header: Value = serde_json::from_slice(&bytes[5..5 + hlen]).unwrap();
        assert_eq!(header["op"], "op");
        assert_eq!(header["args"]["n"], 7);
        assert_eq!(header["blobs"], json!([[0, 4], [4, 8]]));
        assert_eq!(&bytes[5 + hlen..], b"\x01\x02\x03\x04<Nodes/>");
    }

    #[test]
    fn the_execute_frame_is_length_prefixed() {
        let f = execute_frame("1+1", "{}");
        assert_eq!(f, b"\x01\x03\x00\x00\x001+1{}");
    }

    #[test]
    fn replies_decode_and_bad_ones_are_refused() {
        let ok = reply(&json!({"ok": true, "value": {"m": {"$blob": 0}}, "blobs": [[0, 3]]}), &[b"abc"]);
        let r = Reply::decode(ok).unwrap();
        assert!(r.error().is_none());
        assert_eq!(r.blob(&r.value()["m"]).unwrap(), b"abc");
        assert!(r.blob(&json!({"$blob": 1})).is_err());
        assert!(r.blob(&json!(3)).is_err());

        let err = reply(&json!({"ok": false, "error": {"kind": "invalid-input", "message": "no"}}), &[]);
        assert_eq!(Reply::decode(err).unwrap().error().unwrap().kind, "invalid-input");
        let bare = reply(&json!({"ok": false}), &[]);
        assert_eq!(Reply::decode(bare).unwrap().error().unwrap().kind, "internal", "no silent success");

        assert!(Reply::decode(Vec::new()).is_err());
        assert!(Reply::decode(vec![0, 1]).is_err());
        assert!(Reply::decode(vec![0, 255, 255, 255, 255, b'{']).is_err(), "header length past the end");
        assert!(Reply::decode(reply(&json!({"ok": true, "blobs": [[0, 10]]}), &[b"short"])).is_err());
        assert!(Reply::decode(reply(&json!({"ok": true, "blobs": [[usize::MAX, 2]]}), &[])).is_err());
        assert!(matches!(Reply::decode(b"\x01[1]".to_vec()).unwrap(), Reply::Value(v) if v == b"[1]"));
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(r) = Reply::decode(bytes) {
                let _ = r.error();
                let _ = r.blob(&json!({"$blob": 0}));
            }
        }

        #[test]
        fn blobs_round_trip(blobs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..32), 0..6)) {
            let mut f = Frame::new("x");
            let refs: Vec<Value> = blobs.iter().map(|b| f.blob(b)).collect();
            let bytes = f.encode();
            let hlen = u32::from_le_bytes(bytes[1..5].try_into().unwrap()) as usize;
            let header: Value = serde_json::from_slice(&bytes[5..5 + hlen]).unwrap();
            // The same table read back as a reply finds every blob.
            let as_reply = reply(&json!({"ok": true, "value": refs, "blobs": header["blobs"]}), &blobs.iter().map(Vec::as_slice).collect::<Vec<_>>());
            let r = Reply::decode(as_reply).unwrap();
            for (i, b) in blobs.iter().enumerate() {
                prop_assert_eq!(r.blob(&r.value()[i]).unwrap(), b.as_slice());
            }
        }
    }
}
