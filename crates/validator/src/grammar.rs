//! The two link grammars compiled as `mstudio.validation.grammar.Grammar` does.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::tables::{ALPHABET, CLASS_SETS, PRECEDENCE_ROWS, SYNTAX_ROWS};

/// One directed cardinality check (spec §4.2) that can fail.
#[derive(Debug)]
pub(crate) struct Check {
    /// `true` for an OUT check, `false` for IN.
    pub out: bool,
    pub owner: &'static str,
    /// Counted neighbour classes, in order (may repeat).
    pub counted: Vec<&'static str>,
    pub min: u64,
    /// `None` is infinity.
    pub max: Option<u64>,
    /// Message head: `[owner] should have ... but currently has `.
    pub message_head: String,
    /// Fingerprint middle: ` outlinks to [...], but grammar specifies rule: ... Affected nodes: `.
    pub fp_middle: String,
}

impl Check {
    pub fn counts(&self, class: &str) -> bool {
        self.counted.contains(&class)
    }
}

/// A compiled grammar.
pub(crate) struct Grammar {
    /// Allowed (parent, child) class pairs.
    pub allowed: HashMap<&'static str, HashSet<&'static str>>,
    /// Per owner class: (IN checks, OUT checks), each in expansion order.
    pub checks: HashMap<&'static str, (Vec<Check>, Vec<Check>)>,
}

impl Grammar {
    pub fn is_allowed(&self, parent: &str, child: &str) -> bool {
        self.allowed.get(parent).is_some_and(|s| s.contains(child))
    }
}

/// The alphabet as a set.
pub(crate) fn alphabet() -> &'static HashSet<&'static str> {
    static A: OnceLock<HashSet<&'static str>> = OnceLock::new();
    A.get_or_init(|| ALPHABET.split_whitespace().collect())
}

/// The syntax grammar, with its badge.
pub(crate) fn syntax() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| compile(SYNTAX_ROWS, crate::rules::SYNTAX_BADGE))
}

/// The precedence grammar, with its badge.
pub(crate) fn precedence() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| compile(PRECEDENCE_ROWS, crate::rules::PRECEDENCE_BADGE))
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

fn card_phrase(lo: u64, hi: Option<u64>) -> (String, bool) {
    match hi {
        Some(h) if h == lo => (format!("exactly {lo}"), lo == 1),
        None => (format!("at least {lo}"), lo == 1),
        Some(h) if lo == 0 => (format!("at most {h}"), h == 1),
        Some(h) => (format!("{lo} to {h}"), false),
    }
}

fn make_check(
    out: bool,
    owner: &'static str,
    counted: Vec<&'static str>,
    min: u64,
    max: Option<u64>,
    any: bool,
    badge: &str,
) -> Check {
    let k = format!("{{min={min}, max={}}}", max.map_or("inf".to_string(), |m| m.to_string()));
    let rule = match (out, any) {
        (true, true) => format!("{owner}{k} | ANYOF({})", counted.join(", ")),
        (true, false) => format!("{owner}{k} | {}", counted[0]),
        (false, true) => format!("ANYOF({}) | {owner}{k}", counted.join(", ")),
        (false, false) => format!("{} | {owner}{k}", counted[0]),
    };
    let quoted = counted.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ");
    let joined = counted.join(", ");
    let (phrase, singular) = card_phrase(min, max);
    let dirphrase = match (out, singular) {
        (true, true) => "outlink to",
        (true, false) => "outlinks to",
        (false, true) => "inlink from",
        (false, false) => "inlinks from",
    };
    let message_head = format!("[{owner}] should have {phrase} {badge} {dirphrase} [{joined}] but currently has ");
    let fp_middle = format!(
        " {}links to [{quoted}], but grammar specifies rule: {rule}. Affected nodes: ",
        if out { "out" } else { "in" }
    );
    Check { out, owner, counted, min, max, message_head, fp_middle }
}

fn compile(rows: &'static str, badge: &str) -> Grammar {
    let mut allowed: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
    let mut expanded: Vec<Check> = Vec::new();
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
                        expanded.push(make_check(true, a, vec![b], p.min, p.max, false, badge));
                        expanded.push(make_check(false, b, vec![a], c.min, c.max, false, badge));
                    }
                    (false, true) => {
                        let a = p.classes[0];
                        expanded.push(make_check(true, a, c.classes.clone(), p.min, p.max, true, badge));
                        for &b in &c.classes {
                            expanded.push(make_check(false, b, vec![a], c.min, c.max, false, badge));
                        }
                    }
                    (true, false) => {
                        let b = c.classes[0];
                        expanded.push(make_check(false, b, p.classes.clone(), c.min, c.max, true, badge));
                        for &a in &p.classes {
                            expanded.push(make_check(true, a, vec![b], p.min, p.max, false, badge));
                        }
                    }
                    (true, true) => panic!("ANYOF | ANYOF in grammar row {row:?}"),
                }
            }
        }
    }
    let alpha = alphabet();
    let mut checks: HashMap<&'static str, (Vec<Check>, Vec<Check>)> = HashMap::new();
    for chk in expanded {
        if chk.min == 0 && chk.max.is_none() {
            continue;
        }
        if !alpha.contains(chk.owner) {
            continue;
        }
        let e = checks.entry(chk.owner).or_default();
        if chk.out { e.1.push(chk) } else { e.0.push(chk) }
    }
    Grammar { allowed, checks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles() {
        let s = syntax();
        assert_eq!(alphabet().len(), 166);
        assert!(s.is_allowed("staff", "staffLine"));
        assert!(s.is_allowed("noteheadBlack", "stem"));
        assert!(!s.is_allowed("stem", "noteheadBlack"));
        let p = precedence();
        assert!(p.is_allowed("noteheadBlack", "restHalf"));
        let (ins, outs) = &s.checks["staff"];
        assert!(ins.is_empty());
        assert_eq!(
            outs[0].message_head,
            "[staff] should have exactly 5 [\u{1F534} syntax] outlinks to [staffLine] but currently has "
        );
    }
}
