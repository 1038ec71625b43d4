//! Expands both link grammars (`src/expand.rs` over `src/tables.rs`) into
//! static tables, `$OUT_DIR/grammars.rs`, so that no instance compiles them.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "src/expand.rs"]
mod expand;
#[path = "src/tables.rs"]
#[allow(dead_code)]
mod tables;

fn main() {
    for p in ["src/expand.rs", "src/tables.rs", "build.rs"] {
        println!("cargo:rerun-if-changed={p}");
    }
    let alphabet: BTreeSet<&'static str> = tables::ALPHABET.split_whitespace().collect();
    let mut out = String::new();
    writeln!(out, "/// The MuNG 2.0 class names, sorted.").unwrap();
    writeln!(out, "static ALPHABET_SORTED: &[&str] = &{:?};", alphabet.iter().collect::<Vec<_>>()).unwrap();
    for (name, rows, badge) in
        [("SYNTAX", tables::SYNTAX_ROWS, "SYNTAX_BADGE"), ("PRECEDENCE", tables::PRECEDENCE_ROWS, "PRECEDENCE_BADGE")]
    {
        let g = expand::expand(rows, &alphabet);
        writeln!(out, "/// The {} grammar.", name.to_lowercase()).unwrap();
        writeln!(out, "static {name}: Grammar = Grammar {{").unwrap();
        out.push_str("    allowed: &[\n");
        for (parent, children) in &g.allowed {
            writeln!(out, "        ({parent:?}, &{:?}),", children.iter().collect::<Vec<_>>()).unwrap();
        }
        out.push_str("    ],\n    checks: &[\n");
        for (owner, (ins, outs)) in &g.checks {
            let checks = |side: &[expand::CheckDef]| -> String {
                let mut list = String::from("&[");
                for c in side {
                    write!(
                        list,
                        "Check {{ out: {}, owner: {owner:?}, counted: &{:?}, min: {}, max: {:?}, any: {}, badge: {badge} }}, ",
                        c.out, c.counted, c.min, c.max, c.any
                    )
                    .unwrap();
                }
                list + "]"
            };
            writeln!(out, "        ({owner:?}, {}, {}),", checks(ins), checks(outs)).unwrap();
        }
        out.push_str("    ],\n};\n");
    }
    let path = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("grammars.rs");
    std::fs::write(&path, out).expect("writing the grammar tables");
}
