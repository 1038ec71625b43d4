//! Mangled documents never panic the compiled rules (in the glue a panic
//! would stop the sandbox call instead of deferring to the reference): each
//! one is answered or deferred.

use std::path::Path;

/// Tokens that reach the readers of ids, numbers, masks, links and data.
const TOKENS: &[&[u8]] = &[
    b"0",
    b"1",
    b"-1",
    b"99999999999999999999",
    b" ",
    b":",
    b"<",
    b">",
    b"&#1;",
    b"&amp;",
    b"0:1",
    b"1:0",
    b"</Mask>",
    b"<Mask>",
    b"stem",
    b"staffLine",
    b"1.5",
    b"\n",
    b"<Outlinks>1 2</Outlinks>",
    b"<Data></Data>",
];

#[test]
fn mangled_documents_are_answered_or_deferred_never_a_panic() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let seeds: Vec<Vec<u8>> =
        ["small.xml", "small-fixable.xml"].iter().map(|n| std::fs::read(fixtures.join(n)).unwrap()).collect();
    // xorshift64: the same edits on every run
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut answered, mut deferred) = (0, 0);
    for i in 0..20_000 {
        let mut doc = seeds[i % seeds.len()].clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % (doc.len() + 1);
            match next() % 4 {
                0 => {
                    let t = TOKENS[(next() as usize) % TOKENS.len()];
                    doc.splice(at..at, t.iter().copied());
                }
                1 => {
                    let end = (at + next() as usize % 8).min(doc.len());
                    doc.drain(at..end);
                }
                2 if at < doc.len() => doc[at] = (next() % 128) as u8,
                _ if at < doc.len() && doc[at].is_ascii_digit() => doc[at] = b'0' + (next() % 10) as u8,
                _ => {}
            }
        }
        match std::panic::catch_unwind(|| mung_runtime_validator::validate(&doc)) {
            Ok(Ok(_)) => answered += 1,
            Ok(Err(_)) => deferred += 1,
            Err(_) => panic!("edit {i} panicked on:\n{}", String::from_utf8_lossy(&doc)),
        }
    }
    // Both outcomes must be reached, or the edits test nothing.
    assert!(answered > 1_000 && deferred > 1_000, "{answered} answered, {deferred} deferred");
}
