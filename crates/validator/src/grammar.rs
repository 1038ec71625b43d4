//! The two link grammars, as `mstudio.validation.grammar.Grammar` compiles
//! them: expanded at build time (`expand.rs`, run by `build.rs`) into the
//! static tables included below.

use crate::rules::{PRECEDENCE_BADGE, SYNTAX_BADGE};

/// One directed cardinality check (spec §4.2) that can fail.
#[derive(Debug)]
pub(crate) struct Check {
    /// `true` for an OUT check, `false` for IN.
    pub out: bool,
    pub owner: &'static str,
    /// Counted neighbour classes, in order (may repeat).
    pub counted: &'static [&'static str],
    pub min: u64,
    /// `None` is infinity.
    pub max: Option<u64>,
    /// An ANYOF check (its rule names all the counted classes).
    any: bool,
    badge: &'static str,
}

impl Check {
    pub fn counts(&self, class: &str) -> bool {
        self.counted.contains(&class)
    }

    /// Message head: `[owner] should have ... but currently has `.
    pub fn message_head(&self) -> String {
        let joined = self.counted.join(", ");
        let (phrase, singular) = card_phrase(self.min, self.max);
        let dirphrase = match (self.out, singular) {
            (true, true) => "outlink to",
            (true, false) => "outlinks to",
            (false, true) => "inlink from",
            (false, false) => "inlinks from",
        };
        format!("[{}] should have {phrase} {} {dirphrase} [{joined}] but currently has ", self.owner, self.badge)
    }

    /// Fingerprint middle: ` outlinks to [...], but grammar specifies rule: ... Affected nodes: `.
    pub fn fp_middle(&self) -> String {
        let (owner, counted, min) = (self.owner, self.counted, self.min);
        let k = format!("{{min={min}, max={}}}", self.max.map_or("inf".to_string(), |m| m.to_string()));
        let rule = match (self.out, self.any) {
            (true, true) => format!("{owner}{k} | ANYOF({})", counted.join(", ")),
            (true, false) => format!("{owner}{k} | {}", counted[0]),
            (false, true) => format!("ANYOF({}) | {owner}{k}", counted.join(", ")),
            (false, false) => format!("{} | {owner}{k}", counted[0]),
        };
        let quoted = counted.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ");
        format!(
            " {}links to [{quoted}], but grammar specifies rule: {rule}. Affected nodes: ",
            if self.out { "out" } else { "in" }
        )
    }
}

/// A compiled grammar; both tables are sorted by class name.
pub(crate) struct Grammar {
    /// Allowed children (sorted) per parent class.
    allowed: &'static [(&'static str, &'static [&'static str])],
    /// Per owner class: (IN checks, OUT checks), each in expansion order.
    checks: &'static [(&'static str, &'static [Check], &'static [Check])],
}

impl Grammar {
    pub fn is_allowed(&self, parent: &str, child: &str) -> bool {
        self.allowed
            .binary_search_by(|(p, _)| (*p).cmp(parent))
            .is_ok_and(|i| self.allowed[i].1.binary_search(&child).is_ok())
    }

    /// The (IN, OUT) checks of `owner`, if it has any.
    pub fn checks(&self, owner: &str) -> Option<(&'static [Check], &'static [Check])> {
        let i = self.checks.binary_search_by(|(o, _, _)| (*o).cmp(owner)).ok()?;
        Some((self.checks[i].1, self.checks[i].2))
    }
}

// `SYNTAX`, `PRECEDENCE` and the sorted `ALPHABET_SORTED`, written by build.rs.
include!(concat!(env!("OUT_DIR"), "/grammars.rs"));

/// Whether `class` is in the MuNG 2.0 alphabet.
pub(crate) fn in_alphabet(class: &str) -> bool {
    ALPHABET_SORTED.binary_search(&class).is_ok()
}

/// The syntax grammar.
pub(crate) fn syntax() -> &'static Grammar {
    &SYNTAX
}

/// The precedence grammar.
pub(crate) fn precedence() -> &'static Grammar {
    &PRECEDENCE
}

fn card_phrase(lo: u64, hi: Option<u64>) -> (String, bool) {
    match hi {
        Some(h) if h == lo => (format!("exactly {lo}"), lo == 1),
        None => (format!("at least {lo}"), lo == 1),
        Some(h) if lo == 0 => (format!("at most {h}"), h == 1),
        Some(h) => (format!("{lo} to {h}"), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles() {
        let s = syntax();
        assert_eq!(ALPHABET_SORTED.len(), 166);
        assert!(s.is_allowed("staff", "staffLine"));
        assert!(s.is_allowed("noteheadBlack", "stem"));
        assert!(!s.is_allowed("stem", "noteheadBlack"));
        let p = precedence();
        assert!(p.is_allowed("noteheadBlack", "restHalf"));
        let (ins, outs) = s.checks("staff").unwrap();
        assert!(ins.is_empty());
        assert_eq!(
            outs[0].message_head(),
            "[staff] should have exactly 5 [\u{1F534} syntax] outlinks to [staffLine] but currently has "
        );
    }
}
