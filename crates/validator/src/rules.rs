//! The rules of `mstudio.validation.rules.run_rules`, in output order.

use std::collections::HashMap;

use crate::edgeorder::ordered_pairs;
use crate::grammar::{Grammar, in_alphabet, precedence, syntax};
use crate::num::is_py_space;
use crate::read::{Doc, MaskKind, Value};
use crate::{ClassUpdate, Defer, Issue, defer};

pub(crate) const SYNTAX_BADGE: &str = "[\u{1F534} syntax]";
pub(crate) const PRECEDENCE_BADGE: &str = "[\u{1F7E2} precedence]";
const WARNING: &str = "\u{26A0}\u{FE0F}";

/// §3.1: (code, "old>new ..."), in pass order; an empty `new` means no replacement.
const DEPRECATIONS: &[(u32, &str)] = &[
    (1001, "noteheadFull>noteheadBlack"),
    (1002, "noteheadFullSmall>noteheadBlackSmall"),
    (
        1003,
        "restBreve>restDoubleWhole restSemibreve>restWhole restMinim>restHalf \
            restCrotchet>restQuarter restQuaver>rest8th restSemiquaver>rest16th \
            restDemisemiquaver>rest32nd",
    ),
    (1004, "multiMeasureRest>restHBar"),
    (
        1005,
        "dynamicLetterF>dynamicForte dynamicLetterM>dynamicMezzo \
            dynamicLetterN>dynamicNiente dynamicLetterP>dynamicPiano \
            dynamicLetterR>dynamicRinforzando dynamicLetterS>dynamicSforzando \
            dynamicLetterZ>dynamicZ",
    ),
    (1006, "tuple>tuplet tupleBracket>tupletBracket"),
    (1007, "singleNoteTremolo> tremoloMark>"),
    (1008, "flag>"),
    (1009, "fermata>"),
    (1010, "arpegio>arpeggiato"),
    (1011, "ledgerLine>legerLine"),
    (
        1012,
        "sharp>accidentalSharp flat>accidentalFlat natural>accidentalNatural \
            double_sharp>accidentalDoubleSharp double_flat>accidentalDoubleFlat",
    ),
    (
        1013,
        "numeral0> numeral1> numeral2> numeral3> numeral4> numeral5> numeral6> numeral7> \
            numeral8> numeral9>",
    ),
    (1014, "timeSigDivider>timeSigSlash"),
    (1015, "barline>barlineSingle"),
    (
        1016,
        "articulationAccent>articAccentAbove articulationMarcatoAbove>articMarcatoAbove \
            articulationMarcatoBelow>articMarcatoBelow \
            articulationStaccato>articStaccatoBelow articulationTenuto>articTenutoBelow",
    ),
    (1017, "repeatOneBar>repeat1Bar"),
    (1018, "graceNoteAcciaccatura>graceNoteSlashStemUp"),
];

const NOTEHEADS: [&str; 6] =
    ["noteheadBlack", "noteheadHalf", "noteheadWhole", "noteheadBlackSmall", "noteheadHalfSmall", "noteheadWholeSmall"];

/// §3.2: (code, up, down, roots).
const ORIENTATION: &[(u32, &str, &str, &str)] = &[
    (2001, "Up", "Down", "flag8th flag16th flag32nd flag64th flag128th flag256th flag512th flag1024th"),
    (2002, "Above", "Below", "articAccent articMarcato articStaccato articTenuto articStaccatissimo"),
    (2003, "Above", "Below", "fermata"),
    (2004, "Up", "Down", "graceNoteSlashStem"),
];

/// §3.3: (class, code, per row?)
const SINGLE_PIXEL: [(&str, u32, bool); 4] =
    [("barlineSingle", 3001, true), ("barlineHeavy", 3001, true), ("staffLine", 3002, false), ("stem", 3003, true)];

/// Classes whose masks the single-pixel rule reads (the classes of [`SINGLE_PIXEL`]).
pub(crate) const SINGLE_PIXEL_CLASSES: [&str; SINGLE_PIXEL.len()] = {
    let mut classes = [""; SINGLE_PIXEL.len()];
    let mut i = 0;
    while i < classes.len() {
        classes[i] = SINGLE_PIXEL[i].0;
        i += 1;
    }
    classes
};

const TRANSCRIPTION: &str = "restText verseNumber tempoText tempoRitardando tempoAccelerando \
    tempoATempo measureNumber pageNumber dynamicsText dynamicCrescendo dynamicDiminuendo voltaText repeatText";

fn issue(code: u32, message: String, node_id: i64) -> Issue {
    Issue { code, message, node_id, resolution: None, fingerprint: None }
}

fn rename(node_id: i64, new_class_name: &str) -> Option<Vec<ClassUpdate>> {
    Some(vec![ClassUpdate { node_id, new_class_name: new_class_name.to_string() }])
}

struct Ctx<'d, 'a> {
    doc: &'d Doc<'a>,
    /// class -> node indices in document order
    by_class: HashMap<Option<&'a str>, Vec<usize>>,
}

impl<'a> Ctx<'_, 'a> {
    fn members(&self, class: &'a str) -> &[usize] {
        self.by_class.get(&Some(class)).map_or(&[], |v| v.as_slice())
    }
}

fn deprecated(ctx: &Ctx, out: &mut Vec<Issue>) {
    let ids = &ctx.doc.ids;
    for &(code, pairs) in DEPRECATIONS {
        for pair in pairs.split_whitespace() {
            let (old, new) = pair.split_once('>').expect("deprecation table");
            for &i in ctx.members(old) {
                if new.is_empty() {
                    out.push(issue(
                        code,
                        format!("Class '{old}' is deprecated. See the annotation instructions for more info."),
                        ids[i],
                    ));
                } else {
                    out.push(Issue {
                        code,
                        message: format!("Class '{old}' is deprecated. Use '{new}' instead."),
                        node_id: ids[i],
                        resolution: rename(ids[i], new),
                        fingerprint: None,
                    });
                }
            }
        }
    }
}

fn orientation(ctx: &Ctx, out: &mut Vec<Issue>) {
    let doc = ctx.doc;
    let mut heads: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, c) in doc.classes.iter().enumerate() {
        if c.is_some_and(|c| NOTEHEADS.contains(&c)) && !doc.outlinks[i].is_empty() {
            heads.push((i, doc.outlinks[i].iter().map(|t| doc.index_of[t]).collect()));
        }
    }
    let mid = |i: usize| i128::from(doc.tops[i]) + i128::from(doc.heights[i]).div_euclid(2);
    for &(code, up, down, roots) in ORIENTATION {
        let is_kid =
            |cc: &str| roots.split_whitespace().any(|r| cc.strip_prefix(r).is_some_and(|s| s == up || s == down));
        for (i, targets) in &heads {
            let mid_n = mid(*i);
            for &j in targets {
                let Some(cc) = doc.classes[j] else { continue };
                if !is_kid(cc) {
                    continue;
                }
                let mid_c = mid(j);
                let (new, side) = if cc.ends_with(up) && mid_n < mid_c {
                    (cc.replace(up, down), "below")
                } else if cc.ends_with(down) && mid_n > mid_c {
                    (cc.replace(down, up), "above")
                } else {
                    continue;
                };
                let cid = doc.ids[j];
                out.push(Issue {
                    code,
                    message: format!("Node '{cc}' should be '{new}' since it is actually {side} the notehead."),
                    node_id: cid,
                    resolution: rename(cid, &new),
                    fingerprint: Some(doc.ids[*i].to_string()),
                });
            }
        }
    }
}

/// Is this mask a single-pixel line? `per_row`: one sum per row (else per column).
fn line_flag(kind: MaskKind, text: &str, h: i64, w: i64, per_row: bool) -> bool {
    if h <= 0 || w <= 0 {
        return false;
    }
    let (h, w) = (h as usize, w as usize);
    let n = if per_row { h } else { w };
    let mut sums = vec![0i64; n];
    match kind {
        MaskKind::Bitmap => {
            let vals = text.split(|c: char| is_py_space(c as u8)).filter(|s| !s.is_empty());
            for (p, tok) in vals.enumerate() {
                // checked at read time: a plain number in (-1, 256); numpy truncates
                let v = crate::num::py_float(tok).unwrap_or(0.0) as u8;
                let idx = if per_row { p / w } else { p % w };
                sums[idx] += i64::from(v);
            }
        }
        MaskKind::Rle => {
            // per column: a difference array over the columns of each row segment
            let mut diff = if per_row { Vec::new() } else { vec![0i64; w + 1] };
            // the runs were checked at read time (non-negative, adding up to h*w)
            let mut runs: Vec<(bool, i64)> = Vec::new();
            if !crate::read::for_each_run(text, |one, n| runs.push((one, n))) {
                runs = crate::read::rle_tokens(text).expect("an RLE mask checked at read time");
            }
            let mut pos = 0usize;
            for (one, len) in runs {
                let len = len as usize;
                if one {
                    let mut p = pos;
                    let end = pos + len;
                    while p < end {
                        let row = p / w;
                        let seg_end = end.min((row + 1) * w);
                        if per_row {
                            sums[row] += (seg_end - p) as i64;
                        } else {
                            diff[p - row * w] += 1;
                            diff[seg_end - row * w] -= 1;
                        }
                        p = seg_end;
                    }
                }
                pos += len;
            }
            if !per_row {
                let mut acc = 0;
                for (c, s) in sums.iter_mut().enumerate() {
                    acc += diff[c];
                    *s = acc;
                }
            }
        }
    }
    let k = sums.iter().filter(|&&s| s == 1).count();
    (k as f64) / (n as f64) >= 0.8
}

fn single_pixel(ctx: &Ctx, out: &mut Vec<Issue>) -> Result<(), Defer> {
    let doc = ctx.doc;
    for (cname, code, per_row) in SINGLE_PIXEL {
        let members = ctx.members(cname);
        if members.is_empty() {
            continue;
        }
        let mut flags = Vec::with_capacity(members.len());
        for &i in members {
            let Some((kind, text)) = doc.masks[i] else {
                return defer(format!("a '{cname}' node without a mask"));
            };
            flags.push(line_flag(kind, text, doc.heights[i], doc.widths[i], per_row));
        }
        for (&i, flag) in members.iter().zip(flags) {
            if flag {
                out.push(issue(
                    code,
                    format!("Node '{cname}' is likely a single-pixel line, instead of a proper mask."),
                    doc.ids[i],
                ));
            }
        }
    }
    Ok(())
}

fn transcription(ctx: &Ctx, out: &mut Vec<Issue>) {
    for cname in TRANSCRIPTION.split_whitespace() {
        for &i in ctx.members(cname) {
            let missing = matches!(ctx.doc.get(i, "text_transcription"), None | Some(Value::Str(None)));
            if missing {
                out.push(issue(
                    4001,
                    format!("Node '{cname}' is missing mandatory text transcription."),
                    ctx.doc.ids[i],
                ));
            }
        }
    }
}

fn precedence_pairs(ctx: &Ctx) -> Result<Vec<(i64, i64)>, Defer> {
    let doc = ctx.doc;
    let mut pairs = Vec::new();
    for i in 0..doc.ids.len() {
        let Some(v) = doc.get(i, "precedence_outlinks") else { continue };
        match v {
            Value::IntList(l) => {
                for t in l {
                    if !doc.index_of.contains_key(t) {
                        return defer("a precedence link to a missing id");
                    }
                    pairs.push((doc.ids[i], *t));
                }
            }
            Value::StrList(0) | Value::FloatList(0) => {}
            _ => return defer("precedence_outlinks that is not a list[int]"),
        }
    }
    Ok(pairs)
}

#[allow(clippy::too_many_arguments)]
fn grammar_pass(
    ctx: &Ctx,
    out: &mut Vec<Issue>,
    grammar: &Grammar,
    pairs: &[(i64, i64)],
    badge: &str,
    link_code: u32,
    card_code: u32,
    report_unknown: bool,
) -> Result<(), Defer> {
    let doc = ctx.doc;
    let class_of = |id: &i64| doc.classes[doc.index_of[id]];
    if report_unknown {
        for (&nid, &c) in doc.ids.iter().zip(&doc.classes) {
            if !c.is_some_and(in_alphabet) {
                out.push(issue(
                    5002,
                    format!("Class name \"{}\" does not exist in MuNG 2.0", c.unwrap_or("None")),
                    nid,
                ));
            }
        }
    }
    let edges = ordered_pairs(pairs);
    let mut out_adj: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut in_adj: HashMap<i64, Vec<i64>> = HashMap::new();
    for &(a, b) in &edges {
        let (ca, cb) = (class_of(&a), class_of(&b));
        let ok = matches!((ca, cb), (Some(x), Some(y)) if grammar.is_allowed(x, y));
        if !ok {
            let (Some(ca), Some(cb)) = (ca, cb) else {
                return defer("a link of a node with an empty ClassName");
            };
            out.push(Issue {
                code: link_code,
                message: format!("{badge} link [{ca}:{a}]-->[{cb}:{b}] is present but not allowed by the grammar."),
                node_id: a,
                resolution: None,
                fingerprint: Some(b.to_string()),
            });
        }
        out_adj.entry(a).or_default().push(b);
        in_adj.entry(b).or_default().push(a);
    }
    let empty: Vec<i64> = Vec::new();
    for (&nid, &c) in doc.ids.iter().zip(&doc.classes) {
        let Some(c) = c else { continue };
        let Some((ins, outs)) = grammar.checks(c) else { continue };
        for (checks, adj) in [(ins, &in_adj), (outs, &out_adj)] {
            if checks.is_empty() {
                continue;
            }
            let nbrs = adj.get(&nid).unwrap_or(&empty);
            let ncls: Vec<Option<&str>> = nbrs.iter().map(class_of).collect();
            for chk in checks {
                let count = ncls.iter().filter(|c| c.is_some_and(|c| chk.counts(c))).count() as u64;
                if count >= chk.min && chk.max.is_none_or(|m| count <= m) {
                    continue;
                }
                let mut affected: Vec<i64> = Vec::new();
                if count > 0 {
                    for cc in chk.counted {
                        for (y, yc) in nbrs.iter().zip(&ncls) {
                            if *yc == Some(*cc) {
                                affected.push(*y);
                            }
                        }
                    }
                }
                let list = affected.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ");
                let raw = format!("Symbol {nid} (\"{c}\") has {count}{}{nid}; [{list}].", chk.fp_middle());
                if nid >= 0 {
                    out.push(Issue {
                        code: card_code,
                        message: format!("{}{count}.", chk.message_head()),
                        node_id: nid,
                        resolution: None,
                        fingerprint: Some(raw),
                    });
                } else {
                    out.push(Issue {
                        code: 5001,
                        message: format!("Grammar for {badge}: {raw} Suggested corrections: []"),
                        node_id: nid,
                        resolution: None,
                        fingerprint: affected.first().map(|y| y.to_string()),
                    });
                }
            }
        }
    }
    Ok(())
}

const SEQUENCE_CONTAINERS: &[(&str, &str)] = &[
    (
        "timeSignature",
        "timeSig0 timeSig1 timeSig2 timeSig3 timeSig4 timeSig5 timeSig6 timeSig7 \
        timeSig8 timeSig9 timeSigCommon timeSigCutCommon timeSigSlash timeSigFractionalSlash timeSigPlus timeSigEquals",
    ),
    (
        "dynamicsText",
        "dynamicPiano dynamicMezzo dynamicForte dynamicRinforzando dynamicSforzando dynamicZ dynamicNiente",
    ),
    ("tuplet", "tupletColon tuplet0 tuplet1 tuplet2 tuplet3 tuplet4 tuplet5 tuplet6 tuplet7 tuplet8 tuplet9"),
];

fn sequentiality(ctx: &Ctx, out: &mut Vec<Issue>) {
    let doc = ctx.doc;
    for &(container, kids) in SEQUENCE_CONTAINERS {
        for &i in ctx.members(container) {
            let children: Vec<usize> = doc.outlinks[i]
                .iter()
                .map(|t| doc.index_of[t])
                .filter(|&j| doc.classes[j].is_some_and(|c| kids.split_whitespace().any(|k| k == c)))
                .collect();
            if children.is_empty() {
                continue;
            }
            let truthy = |j: usize, key: &str| doc.get(j, key).is_some_and(Value::truthy);
            let starts = children.iter().filter(|&&j| !truthy(j, "precedence_inlinks")).count();
            let ends = children.iter().filter(|&&j| !truthy(j, "precedence_outlinks")).count();
            if starts != 1 || ends != 1 {
                out.push(issue(
                    5301,
                    format!(
                        "Children of [{container}:{}] are not sequentially ordered via \
                    {PRECEDENCE_BADGE} links.",
                        doc.ids[i]
                    ),
                    doc.ids[i],
                ));
            }
        }
    }
}

fn staff_count(ctx: &Ctx, out: &mut Vec<Issue>) {
    let doc = ctx.doc;
    let members = ctx.members("measureSeparator");
    if members.is_empty() {
        return;
    }
    let counts: Vec<usize> = members
        .iter()
        .map(|&i| doc.outlinks[i].iter().filter(|t| doc.classes[doc.index_of[t]] == Some("staff")).count())
        .collect();
    let mut freq: Vec<(usize, usize)> = Vec::new();
    for &c in &counts {
        match freq.iter_mut().find(|(k, _)| *k == c) {
            Some(e) => e.1 += 1,
            None => freq.push((c, 1)),
        }
    }
    let mut best = 0;
    let mut best_n = 0;
    for &(c, n) in &freq {
        if n > best_n {
            best = c;
            best_n = n;
        }
    }
    for (&i, &c) in members.iter().zip(&counts) {
        if c != best {
            let id = doc.ids[i];
            out.push(issue(
                5302,
                format!(
                    "{WARNING} [measureSeparator:{id}] links to an unexpected number \
                ({c}) of [staff] nodes. Most common staff count is {best}. This may not be an issue in a small \
                minority of pages, but is very suspicious for most."
                ),
                id,
            ));
        }
    }
}

/// All issues of the document, in output order.
pub(crate) fn run(doc: &Doc) -> Result<Vec<Issue>, Defer> {
    let mut by_class: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
    for (i, c) in doc.classes.iter().enumerate() {
        by_class.entry(*c).or_default().push(i);
    }
    let ctx = Ctx { doc, by_class };
    let mut out = Vec::new();
    deprecated(&ctx, &mut out);
    orientation(&ctx, &mut out);
    single_pixel(&ctx, &mut out)?;
    transcription(&ctx, &mut out);
    let prec = precedence_pairs(&ctx)?;
    let syn: Vec<(i64, i64)> =
        doc.ids.iter().zip(&doc.outlinks).flat_map(|(&a, links)| links.iter().map(move |&t| (a, t))).collect();
    grammar_pass(&ctx, &mut out, syntax(), &syn, SYNTAX_BADGE, 5101, 5102, false)?;
    grammar_pass(&ctx, &mut out, precedence(), &prec, PRECEDENCE_BADGE, 5201, 5202, true)?;
    sequentiality(&ctx, &mut out);
    staff_count(&ctx, &mut out);
    Ok(out)
}
