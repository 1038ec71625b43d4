//! Property tests: region and polygon parsing, the RLE mask codec seen
//! through `validate`, and `validate` on mutated real documents. Every
//! answer must be a value or a typed refusal: no panic, no hang, no
//! internal error. Sandbox-backed properties run few cases (CI time).

use mung_runtime::{Point, Region, ValidateError};
use proptest::prelude::*;

use crate::common::{fixtures, runtime};

/// Cases for the properties that call the sandbox.
const SANDBOX_CASES: u32 = 32;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn region_parsing_never_panics(text in ".{0,40}") {
        let _ = text.parse::<Region>();
    }

    #[test]
    fn regions_round_trip(x: u32, y: u32, width: u32, height: u32) {
        let region = Region { x, y, width, height };
        prop_assert_eq!(region.to_string().parse::<Region>(), Ok(region));
    }

    #[test]
    fn region_text_with_spaces_and_signs(parts in proptest::collection::vec("[ +-]?[0-9]{0,11}[ ]?", 0..6)) {
        let text = parts.join(",");
        if let Ok(r) = text.parse::<Region>() {
            // Whatever parses is four in-range numbers that print back.
            prop_assert_eq!(r.to_string().parse::<Region>(), Ok(r));
        }
    }

    #[test]
    fn point_lists_never_panic(text in "[-0-9, ]{0,60}", min in 0usize..5) {
        if let Ok(points) = Point::parse_list(&text, min) {
            prop_assert!(points.len() >= min);
        }
    }

    #[test]
    fn point_lists_round_trip(coords in proptest::collection::vec((any::<i32>(), any::<i32>()), 1..20)) {
        let text = coords.iter().map(|(x, y)| format!("{x},{y}")).collect::<Vec<_>>().join(",");
        let points = Point::parse_list(&text, 1).unwrap();
        prop_assert_eq!(points.len(), coords.len());
        for (p, (x, y)) in points.iter().zip(&coords) {
            prop_assert_eq!((p.x, p.y), (*x, *y));
        }
    }
}

fn mask_document(width: i64, height: i64, runs: &str) -> String {
    format!(
        "<Nodes><Node><Id>1</Id><ClassName>noteheadFull</ClassName><Top>3</Top><Left>4</Left>\
         <Width>{width}</Width><Height>{height}</Height><Mask>{runs}</Mask></Node></Nodes>"
    )
}

fn issues_or_invalid(doc: &str) -> Result<(), TestCaseError> {
    match runtime().validate(doc) {
        Ok(_) | Err(ValidateError::InvalidInput(_)) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("{e:?} for {:?}", &doc[..doc.len().min(300)]))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: SANDBOX_CASES, ..ProptestConfig::default() })]

    /// Well-formed run-length masks (alternating 0/1 runs adding up to
    /// Width×Height) are accepted.
    #[test]
    fn rle_masks_that_add_up_are_accepted(width in 1i64..40, height in 1i64..40, cuts in proptest::collection::vec(0.0f64..1.0, 0..12)) {
        let total = width * height;
        let mut points: Vec<i64> = cuts.iter().map(|c| (c * total as f64) as i64).collect();
        points.push(0);
        points.push(total);
        points.sort();
        points.dedup();
        let runs: Vec<String> =
            points.windows(2).enumerate().map(|(i, w)| format!("{}:{}", i % 2, w[1] - w[0])).collect();
        let doc = mask_document(width, height, &runs.join(" "));
        prop_assert!(runtime().validate(&doc).is_ok(), "{}", doc);
    }

    /// Mutated runs: wrong totals, bad values, garbage tokens.
    #[test]
    fn mutated_rle_masks_are_issues_or_invalid_input(
        width in -3i64..30,
        height in -3i64..30,
        runs in proptest::collection::vec(("[0-9:a-z -]{0,3}", -5i64..2000), 0..10),
    ) {
        let runs: Vec<String> = runs.iter().map(|(v, n)| format!("{v}:{n}")).collect();
        issues_or_invalid(&mask_document(width, height, &runs.join(" ")))?;
    }

    /// A real document, cut, spliced and scribbled on.
    #[test]
    fn mutated_documents_are_issues_or_invalid_input(
        edits in proptest::collection::vec((0.0f64..1.0, 0usize..40, "[<>/0-9a-zA-Z:\" &;-]{0,12}"), 1..6),
    ) {
        let mut doc = std::fs::read_to_string(fixtures().join("small.xml")).unwrap();
        for (at, cut, insert) in &edits {
            let mut start = (at * doc.len() as f64) as usize;
            while !doc.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + cut).min(doc.len());
            while !doc.is_char_boundary(end) {
                end += 1;
            }
            doc.replace_range(start..end, insert);
        }
        issues_or_invalid(&doc)?;
    }
}
