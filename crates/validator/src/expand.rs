//! Expands the grammar rows of `tables.rs` the way
//! `mstudio.validation.grammar.Grammar` does: which (parent, child) class
//! pairs are allowed, and the cardinality checks per owner class. Run by the
//! crate's build script, which writes the result out as static tables
//! (`grammar.rs` includes them), so an instance never compiles a grammar:
//! a fresh instance validates one document, and compiling both grammars
//! took longer than validating it.

use std::collections::{BTreeMap, BTreeSet};

use crate::tables::CLASS_SETS;

/// One cardinality check, before it becomes a `grammar::Check`.
pub(crate) struct CheckDef {
    /// `true` for an OUT check, `false` for IN.
    pub out: bool,
    /// Counted neighbour classes, in order (may repeat).
    pub counted: Vec<&'static str>,
    pub min: u64,
    /// `None` is infinity.
    pub max: Option<u64>,
    /// An ANYOF check.
    pub any: bool,
}

/// A grammar: allowed children per parent, and (IN, OUT) checks per owner
/// class in expansion order, both sorted by class name.
pub(crate) struct Expanded {
    pub allowed: BTreeMap<&'static str, BTreeSet<&'static str>>,
    pub checks: BTreeMap<&'static str, (Vec<CheckDef>, Vec<CheckDef>)>,
}

/// Expands `rows` (one `parent side | child side` per line). Checks that can
/// never fail (no bounds) and checks of classes outside `alphabet` are
/// dropped, as the reference does.
pub(crate) fn expand(rows: &'static str, alphabet: &BTreeSet<&'static str>) -> Expanded {
    let mut allowed: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    let mut checks: BTreeMap<&'static str, (Vec<CheckDef>, Vec<CheckDef>)> = BTreeMap::new();
    let mut add = |out: bool, owner: &'static str, counted: &[&'static str], min: u64, max: Option<u64>, any: bool| {
        if (min == 0 && max.is_none()) || !alphabet.contains(owner) {
            return;
        }
        let check = CheckDef { out, counted: counted.to_vec(), min, max, any };
        let e = checks.entry(owner).or_default();
        if out { e.1.push(check) } else { e.0.push(check) }
    };
    for row in rows.trim().lines() {
        let (left, right) = row.split_once('|').expect("grammar row");
        let parents = parse_side(left);
        let children = parse_side(right);
        for p in &parents {
            for c in &children {
                for a in &p.classes {
                    allowed.entry(a).or_default().extend(c.classes.iter().copied());
                }
                match (p.any, c.any) {
                    (false, false) => {
                        let (a, b) = (p.classes[0], c.classes[0]);
                        add(true, a, &[b], p.min, p.max, false);
                        add(false, b, &[a], c.min, c.max, false);
                    }
                    (false, true) => {
                        let a = p.classes[0];
                        add(true, a, &c.classes, p.min, p.max, true);
                        for &b in &c.classes {
                            add(false, b, &[a], c.min, c.max, false);
                        }
                    }
                    (true, false) => {
                        let b = c.classes[0];
                        add(false, b, &p.classes, c.min, c.max, true);
                        for &a in &p.classes {
                            add(true, a, &[b], p.min, p.max, false);
                        }
                    }
                    (true, true) => panic!("ANYOF | ANYOF in grammar row {row:?}"),
                }
            }
        }
    }
    Expanded { allowed, checks }
}

struct Group {
    any: bool,
    classes: Vec<&'static str>,
    min: u64,
    max: Option<u64>,
}

fn parse_card(text: Option<&str>) -> (u64, Option<u64>) {
    match text {
        None => (0, None),
        Some(t) => match t.split_once(',') {
            None => {
                let n = t.parse().expect("grammar cardinality");
                (n, Some(n))
            }
            Some((lo, hi)) => (
                if lo.is_empty() { 0 } else { lo.parse().expect("grammar cardinality") },
                if hi.is_empty() { None } else { Some(hi.parse().expect("grammar cardinality")) },
            ),
        },
    }
}

fn parse_side(text: &'static str) -> Vec<Group> {
    let text = text.trim();
    let (body, card) = match text.strip_suffix('}') {
        Some(t) => {
            let (b, c) = t.rsplit_once('{').expect("grammar side");
            (b, Some(c))
        }
        None => (text, None),
    };
    let (min, max) = parse_card(card);
    let (kind, items) = if let Some(rest) = body.strip_prefix("ANYOF(") {
        (Some(true), rest.strip_suffix(')').expect("grammar side"))
    } else if let Some(rest) = body.strip_prefix("EACH(") {
        (Some(false), rest.strip_suffix(')').expect("grammar side"))
    } else {
        (None, body)
    };
    match kind {
        None => vec![Group { any: false, classes: vec![items], min, max }],
        Some(any) => {
            let mut classes = Vec::new();
            for item in items.split_whitespace() {
                if let Some(name) = item.strip_prefix('$') {
                    let set = CLASS_SETS.iter().find(|(n, _)| *n == name).expect("class set").1;
                    classes.extend(set.split_whitespace());
                } else {
                    classes.push(item);
                }
            }
            if any {
                vec![Group { any: true, classes, min, max }]
            } else {
                classes.into_iter().map(|c| Group { any: false, classes: vec![c], min, max }).collect()
            }
        }
    }
}
