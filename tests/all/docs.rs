//! The docs name files that exist: every repository path that README.md and
//! ARCHITECTURE.md mention (in backticks, code blocks or links, commands
//! included) is there, so a moved or renamed file cannot leave them behind.

use std::collections::BTreeSet;

use crate::common::repo;

/// Paths the docs name that the tools create when they run.
const CREATED_BY_RUNS: [&str; 1] = ["fuzz/artifacts/"];

/// The words of `text` that read as paths into the repository: they contain
/// a `/` and start with one of its top-level entries (`crates/`, `tests/`,
/// ...). URLs, guest paths (`/packages`) and placeholders (`<cache>/...`)
/// do not.
fn repository_paths(text: &str, top: &BTreeSet<String>) -> Vec<String> {
    let mut spans: Vec<&str> = Vec::new();
    let mut prose = String::new();
    for (i, part) in text.split("```").enumerate() {
        // Odd parts are fenced code blocks; everything in them counts.
        if i % 2 == 1 {
            spans.push(part);
        } else {
            prose.push_str(part);
            prose.push('\n');
        }
    }
    let mut words: Vec<String> = spans.iter().flat_map(|s| s.split_whitespace()).map(str::to_string).collect();
    for (i, part) in prose.split('`').enumerate() {
        if i % 2 == 1 {
            words.extend(part.split_whitespace().map(str::to_string));
        } else {
            // Markdown link targets: `](target)`.
            for link in part.split("](").skip(1) {
                words.extend(link.split(')').next().map(str::to_string));
            }
        }
    }
    words
        .iter()
        .map(|w| w.trim_matches(|c: char| "'\"(),;:".contains(c)).trim_start_matches('@'))
        .filter(|w| w.contains('/') && !w.contains(['<', '>', '*', '{', '}', '…', '|']))
        .filter(|w| top.contains(w.split('/').next().unwrap()))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_path_the_docs_name_exists() {
    let root = repo();
    let top: BTreeSet<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "target" && !name.starts_with('.'))
        .collect();
    let mut missing = Vec::new();
    let mut checked = 0;
    for doc in ["README.md", "ARCHITECTURE.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for path in repository_paths(&text, &top) {
            checked += 1;
            if !root.join(&path).exists() && !CREATED_BY_RUNS.contains(&path.as_str()) {
                missing.push(format!("{doc}: {path}"));
            }
        }
    }
    assert!(checked > 50, "only {checked} paths found: is the path filter still right?");
    assert!(missing.is_empty(), "the docs name files that do not exist:\n{}", missing.join("\n"));
}

/// The filter itself: what counts as a repository path.
#[test]
fn the_path_filter_finds_repository_paths_only() {
    let top: BTreeSet<String> = ["crates", "tests", "README.md"].into_iter().map(String::from).collect();
    let text = "See `tests/component.rs` and [the guide](crates/x/README.md).\n\
                ```sh\ncurl --data-binary @tests/fixtures/small.xml localhost:8080/v1/validate\n```\n\
                Not these: `/packages`, `<cache>/tools/x`, `https://example.org/a`, `src/pins.rs`, `crates`.";
    assert_eq!(repository_paths(text, &top), ["tests/fixtures/small.xml", "tests/component.rs", "crates/x/README.md"]);
}
