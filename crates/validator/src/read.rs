//! Reading a MuNG document the way `mstudio.mungxml.read_mung` does, for the documents
//! on which that is certain; anything else is a [`Defer`].

use std::collections::HashMap;

use roxmltree::{Document, Node, NodeType, ParsingOptions};

use crate::num::{is_py_space, py_float, py_int, py_split_ws};
use crate::{Defer, defer};

/// Largest document the fast path reads (bytes).
const MAX_DOCUMENT: usize = 64 << 20;
/// Longest text or attribute value (libxml2 without `huge_tree` refuses > 10,000,000).
const MAX_TEXT: usize = 4_000_000;
/// Deepest element nesting (libxml2 without `huge_tree` refuses > 256).
const MAX_DEPTH: usize = 200;
/// Most pixels decoded for one mask, or for all masks of a document
/// (`mungxml.MAX_DECODED_PIXELS`).
pub(crate) const MAX_DECODED_PIXELS: i128 = 1 << 28;

/// The field elements of a node, in `mungxml._FIELDS` order.
const FIELDS: [&str; 10] = ["Id", "ClassName", "Top", "Left", "Width", "Height", "Mask", "Outlinks", "Inlinks", "Data"];

/// A `DataItem` value typed as `mungxml._data_items` types it (only what validation
/// can observe is kept).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Int(i64),
    Float(f64),
    IntList(Vec<i64>),
    /// A `list[float]`; only its length is kept.
    FloatList(usize),
    /// A `list` of strings; only its length is kept.
    StrList(usize),
    Str(Option<&'a str>),
}

impl Value<'_> {
    /// Python truthiness of the value.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Int(v) => *v != 0,
            Value::Float(f) => *f != 0.0,
            Value::IntList(l) => !l.is_empty(),
            Value::FloatList(n) | Value::StrList(n) => *n > 0,
            Value::Str(s) => s.is_some_and(|s| !s.is_empty()),
        }
    }
}

/// A checked mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaskKind {
    Rle,
    Bitmap,
}

/// The node data validation uses, one entry per node element in document order.
pub(crate) struct Doc<'a> {
    pub ids: Vec<i64>,
    pub classes: Vec<Option<&'a str>>,
    pub tops: Vec<i64>,
    pub widths: Vec<i64>,
    pub heights: Vec<i64>,
    pub outlinks: Vec<Vec<i64>>,
    /// DataItems as (key, value); a later key replaces an earlier one (see [`Doc::get`]).
    pub data: Vec<Vec<(Option<&'a str>, Value<'a>)>>,
    /// Mask kind and text (`rstrip`ped for RLE).
    pub masks: Vec<Option<(MaskKind, &'a str)>>,
    /// id -> node index.
    pub index_of: HashMap<i64, usize>,
}

impl<'a> Doc<'a> {
    /// `data[i].get(key)`.
    pub fn get(&self, i: usize, key: &str) -> Option<&Value<'a>> {
        self.data[i].iter().rev().find(|(k, _)| *k == Some(key)).map(|(_, v)| v)
    }
}

/// Checks the prolog: no BOM, a UTF-8 text, and an XML declaration (if any) of version
/// 1.0 with no encoding or UTF-8.
fn check_prolog(xml: &[u8]) -> Result<&str, Defer> {
    if xml.len() > MAX_DOCUMENT {
        return defer("document larger than the fast path's limit");
    }
    if xml.starts_with(b"\xEF\xBB\xBF") || xml.starts_with(b"\xFE\xFF") || xml.starts_with(b"\xFF\xFE") {
        return defer("byte order mark");
    }
    let Ok(text) = std::str::from_utf8(xml) else {
        return defer("not UTF-8");
    };
    if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") {
        return defer("DOCTYPE");
    }
    if text.contains("<![CDATA[]]>") {
        return defer("empty CDATA section");
    }
    if !char_refs_ok(text) {
        return defer("a character reference to a character XML does not allow");
    }
    if let Some(rest) = text.strip_prefix("<?xml") {
        if !rest.starts_with([' ', '\t', '\r', '\n']) {
            return defer("odd XML declaration");
        }
        let Some(end) = rest.find("?>") else {
            return defer("unterminated XML declaration");
        };
        let decl = &rest[..end];
        match decl_attr(decl, "version") {
            Some("1.0") => {}
            _ => return defer("XML version other than 1.0"),
        }
        if decl.contains("encoding") {
            match decl_attr(decl, "encoding") {
                Some(e) if e.eq_ignore_ascii_case("utf-8") => {}
                _ => return defer("declared encoding other than UTF-8"),
            }
        }
    } else if text.contains("<?xml ") || text.contains("<?xml?") {
        return defer("XML declaration not at the start");
    }
    Ok(text)
}

/// Every `&#...;` reference names a character of XML's `Char` production (roxmltree
/// accepts surrogates, libxml2 does not). References that do not parse at all are left
/// to the parser, which refuses them.
fn char_refs_ok(text: &str) -> bool {
    let mut rest = text;
    while let Some(p) = rest.find("&#") {
        rest = &rest[p + 2..];
        let (digits, radix) = match rest.strip_prefix('x') {
            Some(r) => (r, 16),
            None => (rest, 10),
        };
        let Some(end) = digits.find(';') else { return false };
        let Ok(v) = u32::from_str_radix(&digits[..end], radix) else { return false };
        let ok = matches!(v, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF);
        if !ok || digits[..end].starts_with('+') {
            return false;
        }
    }
    true
}

/// The quoted value of `name=` in an XML declaration body.
fn decl_attr<'d>(decl: &'d str, name: &str) -> Option<&'d str> {
    let pos = decl.find(name)?;
    let rest = decl[pos + name.len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let q = rest.chars().next()?;
    if q != '"' && q != '\'' {
        return None;
    }
    let rest = &rest[1..];
    let end = rest.find(q)?;
    Some(&rest[..end])
}

/// lxml's `element.text`: the text before the element's first child node (`None` if
/// there is none); defers on an empty text node (lxml's `""` vs `None` is not certain).
fn text_of<'a>(el: Node<'a, 'a>) -> Result<Option<&'a str>, Defer> {
    match el.first_child() {
        Some(c) if c.is_text() => match c.text() {
            Some("") => defer("an empty text node"),
            t => Ok(t),
        },
        _ => Ok(None),
    }
}

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// An ASCII NCName: a letter or `_`, then letters, digits, `.`, `-`, `_`.
fn is_simple_ncname(v: &str) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// Parses the document with roxmltree (defers on whatever it refuses).
pub(crate) fn parse(xml: &[u8]) -> Result<Document<'_>, Defer> {
    let text = check_prolog(xml)?;
    let opts = ParsingOptions { allow_dtd: false, ..ParsingOptions::default() };
    match Document::parse_with_options(text, opts) {
        Ok(d) => Ok(d),
        Err(_) => defer("the XML parser refused the document"),
    }
}

fn parse_links(text: Option<&str>) -> Result<Vec<i64>, Defer> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => t
            .split(' ')
            .map(|tok| py_int(tok).map_or_else(|| defer("a link that is not a plain integer"), Ok))
            .collect(),
    }
}

fn int_field(text: Option<Option<&str>>) -> Result<i64, Defer> {
    match text {
        Some(Some(t)) => py_int(t).map_or_else(|| defer("a field that is not a plain integer"), Ok),
        _ => defer("a missing or empty integer field"),
    }
}

fn data_items<'a>(data_el: Node<'a, 'a>) -> Result<Vec<(Option<&'a str>, Value<'a>)>, Defer> {
    let mut items = Vec::new();
    for item in data_el.children().filter(|c| c.is_element() && c.tag_name().name() == "DataItem") {
        let key = item.attribute("key");
        let Some(vtype) = item.attribute("type") else {
            return defer("a DataItem without type");
        };
        let text = text_of(item)?;
        let value = if vtype == "int" {
            Value::Int(text.and_then(py_int).map_or_else(|| defer("a DataItem int that is not a plain integer"), Ok)?)
        } else if vtype == "float" {
            Value::Float(
                text.and_then(py_float).map_or_else(|| defer("a DataItem float that is not a plain number"), Ok)?,
            )
        } else if vtype.starts_with("list") {
            match text {
                None => Value::StrList(0),
                Some(t) => {
                    let Some(tokens) = py_split_ws(t) else {
                        return defer("a non-ASCII DataItem list");
                    };
                    if vtype.ends_with("[int]") {
                        let mut v = Vec::with_capacity(tokens.len());
                        for tok in tokens {
                            match py_int(tok) {
                                Some(x) => v.push(x),
                                None => return defer("a DataItem list[int] entry that is not a plain integer"),
                            }
                        }
                        Value::IntList(v)
                    } else if vtype.ends_with("[float]") {
                        for tok in &tokens {
                            if py_float(tok).is_none() {
                                return defer("a DataItem list[float] entry that is not a plain number");
                            }
                        }
                        Value::FloatList(tokens.len())
                    } else {
                        Value::StrList(tokens.len())
                    }
                }
            }
        } else {
            Value::Str(text)
        };
        items.push((key, value));
    }
    Ok(items)
}

/// Fast path for the canonical RLE form `v:n( v:n)*` (ASCII digits, at most 18 of
/// each): calls `f(v == 1, n)` for every run and returns true; returns false (after
/// maybe some calls) for any other form, which the caller then reads token by token.
pub(crate) fn for_each_run(text: &str, mut f: impl FnMut(bool, i64)) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    loop {
        let mut v: i64 = 0;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            v = v * 10 + i64::from(b[i] - b'0');
            i += 1;
            if i - s > 18 {
                return false;
            }
        }
        if i == s || i >= b.len() || b[i] != b':' {
            return false;
        }
        i += 1;
        let mut n: i64 = 0;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            n = n * 10 + i64::from(b[i] - b'0');
            i += 1;
            if i - s > 18 {
                return false;
            }
        }
        if i == s {
            return false;
        }
        f(v == 1, n);
        if i == b.len() {
            return true;
        }
        if b[i] != b' ' {
            return false;
        }
        i += 1;
    }
}

/// The runs `(v == 1, n)` of an RLE mask in any form `read_mung` accepts, token by
/// token (the slow path beside [`for_each_run`]); defers on a malformed token or a
/// negative run.
pub(crate) fn rle_tokens(text: &str) -> Result<Vec<(bool, i64)>, Defer> {
    let mut runs = Vec::new();
    for tok in text.split(' ') {
        let mut parts = tok.split(':');
        let (Some(v), Some(n), None) = (parts.next(), parts.next(), parts.next()) else {
            return defer("a malformed RLE mask token");
        };
        let (Some(v), Some(n)) = (py_int(v), py_int(n)) else {
            return defer("a malformed RLE mask token");
        };
        if n < 0 {
            return defer("a negative RLE run");
        }
        runs.push((v == 1, n));
    }
    Ok(runs)
}

/// Checks a mask as `read_mung` does (every mask of the document is checked).
fn check_mask(text: &str, kind: MaskKind, height: i64, width: i64) -> Result<(), Defer> {
    if height < 0 || width < 0 {
        return defer("a mask on a node with a negative size");
    }
    let expected = i128::from(height) * i128::from(width);
    match kind {
        MaskKind::Rle => {
            let mut total: i128 = 0;
            if for_each_run(text, |_, n| total += i128::from(n)) {
                if total != expected {
                    return defer("RLE mask runs do not add up to Width*Height");
                }
                return Ok(());
            }
            total = rle_tokens(text)?.iter().map(|&(_, n)| i128::from(n)).sum();
            if total != expected {
                return defer("RLE mask runs do not add up to Width*Height");
            }
        }
        MaskKind::Bitmap => {
            let Some(tokens) = py_split_ws(text) else {
                return defer("a non-ASCII bitmap mask");
            };
            for tok in &tokens {
                match py_float(tok) {
                    Some(v) if -1.0 < v && v < 256.0 => {}
                    _ => return defer("a bitmap mask value that is not a plain number in range"),
                }
            }
            if tokens.len() as i128 != expected {
                return defer("bitmap mask size differs from Width*Height");
            }
        }
    }
    Ok(())
}

/// Reads the nodes of a parsed document.
pub(crate) fn read<'a>(doc: &'a Document<'a>, wanted_masks: &[&str]) -> Result<Doc<'a>, Defer> {
    // libxml2 limits, namespaces, processing instructions named like the declaration
    let mut depth = vec![0u16; doc.descendants().len()];
    let mut has_node = false;
    let mut xml_ids = std::collections::HashSet::new();
    for n in doc.descendants() {
        match n.node_type() {
            NodeType::Element => {
                let d = n.parent().map_or(0, |p| depth[p.id().get_usize()]) + 1;
                if usize::from(d) > MAX_DEPTH {
                    return defer("deeply nested elements");
                }
                depth[n.id().get_usize()] = d;
                if n.tag_name().namespace().is_some() {
                    return defer("a namespaced element");
                }
                for a in n.attributes() {
                    if a.namespace() == Some(XML_NS) {
                        // libxml2 checks xml:id values (NCName, unique); other xml:
                        // attributes are not looked into
                        if a.name() != "id" || !is_simple_ncname(a.value()) || !xml_ids.insert(a.value()) {
                            return defer("an xml: attribute that libxml2 may refuse");
                        }
                    } else if a.namespace().is_some() && matches!(a.name(), "key" | "type") {
                        return defer("a namespaced key or type attribute");
                    }
                    if a.value().len() > MAX_TEXT {
                        return defer("a long attribute");
                    }
                }
                if n.tag_name().name() == "Node" {
                    has_node = true;
                }
            }
            NodeType::Text => {
                if n.text().is_some_and(|t| t.len() > MAX_TEXT) {
                    return defer("a very long text");
                }
            }
            NodeType::PI => {
                if n.pi().is_some_and(|p| p.target.eq_ignore_ascii_case("xml")) {
                    return defer("a processing instruction named xml");
                }
            }
            NodeType::Comment => {
                if n.text().is_some_and(|t| t.contains("--") || t.ends_with('-')) {
                    return defer("an odd comment");
                }
            }
            NodeType::Root => {}
        }
    }
    let tag = if has_node { "Node" } else { "CropObject" };

    let mut out = Doc {
        ids: Vec::new(),
        classes: Vec::new(),
        tops: Vec::new(),
        widths: Vec::new(),
        heights: Vec::new(),
        outlinks: Vec::new(),
        data: Vec::new(),
        masks: Vec::new(),
        index_of: HashMap::new(),
    };
    let mut inlinks_all: Vec<Vec<i64>> = Vec::new();
    let mut wanted_pixels: i128 = 0;
    for el in doc.root_element().descendants().filter(|n| n.is_element() && n.tag_name().name() == tag) {
        let mut rec: [Option<Node<'a, 'a>>; 10] = [None; 10];
        for ch in el.children().filter(|c| c.is_element()) {
            if let Some(k) = FIELDS.iter().position(|f| *f == ch.tag_name().name())
                && rec[k].is_none()
            {
                rec[k] = Some(ch);
            }
        }
        let text = |k: usize| -> Result<Option<Option<&'a str>>, Defer> { rec[k].map(text_of).transpose() };
        let id = int_field(text(0)?)?;
        let Some(class_el) = rec[1] else {
            return defer("a node without ClassName");
        };
        let class = text_of(class_el)?;
        let top = int_field(text(2)?)?;
        int_field(text(3)?)?;
        let width = int_field(text(4)?)?;
        let height = int_field(text(5)?)?;
        let inl = parse_links(text(8)?.flatten())?;
        let outl = parse_links(text(7)?.flatten())?;
        let data = match rec[9] {
            None => Vec::new(),
            Some(d) => data_items(d)?,
        };
        let mask = match text(6)? {
            None => None,
            Some(None) => return defer("an empty Mask"),
            Some(Some(m)) => {
                if !m.is_ascii() {
                    return defer("a non-ASCII mask");
                }
                let kind = if m.len() >= 3 && m[..3].contains(':') {
                    Some(MaskKind::Rle)
                } else if m != "None" {
                    Some(MaskKind::Bitmap)
                } else {
                    None
                };
                match kind {
                    None => None,
                    Some(kind) => {
                        let m =
                            if kind == MaskKind::Rle { m.trim_end_matches(|c: char| is_py_space(c as u8)) } else { m };
                        check_mask(m, kind, height, width)?;
                        if class.is_some_and(|c| wanted_masks.contains(&c)) {
                            let px = i128::from(height) * i128::from(width);
                            wanted_pixels += px;
                            if px > MAX_DECODED_PIXELS || wanted_pixels > MAX_DECODED_PIXELS {
                                return defer("masks too large to decode");
                            }
                        }
                        Some((kind, m))
                    }
                }
            }
        };
        if out.index_of.insert(id, out.ids.len()).is_some() {
            return defer("duplicate node ids");
        }
        out.ids.push(id);
        out.classes.push(class);
        out.tops.push(top);
        out.widths.push(width);
        out.heights.push(height);
        out.outlinks.push(outl);
        inlinks_all.push(inl);
        out.data.push(data);
        out.masks.push(mask);
    }
    for links in out.outlinks.iter().chain(inlinks_all.iter()) {
        if links.iter().any(|t| !out.index_of.contains_key(t)) {
            return defer("a link to a missing id");
        }
    }
    Ok(out)
}
