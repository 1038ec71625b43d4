//! Just enough of a MuNG XML reader to pick a page's staff and staff-line
//! nodes (with their run-length masks) as benchmark inputs.

use anyhow::{Context, Result, bail};
use mung_runtime::{Mask, Node};

/// The `<Node>` elements of a document, in document order.
pub(crate) fn read_nodes(xml: &str) -> Result<Vec<Node>> {
    let mut nodes = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<Node>") {
        let after = &rest[start + 6..];
        let end = after.find("</Node>").context("a <Node> is not closed")?;
        nodes.push(parse_node(&after[..end])?);
        rest = &after[end + 7..];
    }
    Ok(nodes)
}

fn tag<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let s = body.find(&open)? + open.len();
    let e = body[s..].find(&close)? + s;
    Some(body[s..e].trim())
}

fn number<T: std::str::FromStr>(body: &str, name: &str) -> Result<T> {
    tag(body, name)
        .with_context(|| format!("a node has no <{name}>"))?
        .parse()
        .map_err(|_| anyhow::anyhow!("<{name}> of a node is not a number"))
}

fn ids(body: &str, name: &str) -> Vec<i64> {
    tag(body, name).map_or_else(Vec::new, |t| t.split_whitespace().filter_map(|v| v.parse().ok()).collect())
}

fn parse_node(body: &str) -> Result<Node> {
    let width: u32 = number(body, "Width")?;
    let height: u32 = number(body, "Height")?;
    let mask = match tag(body, "Mask") {
        Some(rle) if !rle.is_empty() => Some(decode_rle(rle, width, height)?),
        _ => None,
    };
    Ok(Node {
        id: number(body, "Id")?,
        class_name: tag(body, "ClassName").unwrap_or_default().to_string(),
        top: number(body, "Top")?,
        left: number(body, "Left")?,
        width,
        height,
        outlinks: ids(body, "Outlinks"),
        inlinks: ids(body, "Inlinks"),
        precedence_outlinks: Vec::new(),
        precedence_inlinks: Vec::new(),
        text_transcription: None,
        mask,
    })
}

/// MuNG's run-length mask text: `value:count` pairs, row-major.
fn decode_rle(text: &str, width: u32, height: u32) -> Result<Mask> {
    let mut pixels = Vec::with_capacity(width as usize * height as usize);
    for pair in text.split_whitespace() {
        let (v, n) = pair.split_once(':').context("a mask run is not value:count")?;
        let v: u8 = v.parse().context("mask value")?;
        let n: usize = n.parse().context("mask run length")?;
        pixels.extend(std::iter::repeat_n(u8::from(v != 0), n));
    }
    if pixels.len() != width as usize * height as usize {
        bail!("a mask has {} pixels, its node is {width}x{height}", pixels.len());
    }
    Ok(Mask::new(width, height, pixels)?)
}

/// The topmost `staff` node and its 5 `staffLine` nodes (its outlinks, or
/// else the 5 topmost staff lines inside its box).
pub(crate) fn first_staff(nodes: &[Node]) -> Result<(Node, Vec<Node>)> {
    let staff = nodes
        .iter()
        .filter(|n| n.class_name == "staff")
        .min_by_key(|n| n.top)
        .context("the document has no staff node")?
        .clone();
    let mut lines: Vec<Node> = nodes
        .iter()
        .filter(|n| n.class_name == "staffLine" && n.mask.is_some() && staff.outlinks.contains(&n.id))
        .cloned()
        .collect();
    if lines.len() != 5 {
        lines = nodes
            .iter()
            .filter(|n| {
                n.class_name == "staffLine"
                    && n.mask.is_some()
                    && n.top >= staff.top
                    && n.top < staff.top + staff.height as i32
            })
            .cloned()
            .collect();
        lines.sort_by_key(|n| n.top);
        lines.truncate(5);
    }
    if lines.len() != 5 {
        bail!("the first staff has {} staff lines with masks, not 5", lines.len());
    }
    for l in &mut lines {
        l.outlinks.clear();
        l.inlinks.clear();
    }
    Ok((staff, lines))
}
