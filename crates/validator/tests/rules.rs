//! Hand-written inputs: one small document per rule, and inputs that must defer.
//! Expected texts follow `mstudio/validation/rules.py` (checked against the reference
//! with `dev/difftest.py`).

use mung_runtime_validator::{ClassUpdate, validate};

/// A node element: (id, class, top, height, outlinks, extra child elements).
fn node(id: i64, class: &str, top: i64, height: i64, out: &str, extra: &str) -> String {
    let outl = if out.is_empty() { String::new() } else { format!("<Outlinks>{out}</Outlinks>") };
    format!(
        "<Node><Id>{id}</Id><ClassName>{class}</ClassName><Top>{top}</Top><Left>0</Left>\
             <Width>2</Width><Height>{height}</Height>{outl}{extra}</Node>\n"
    )
}

fn doc(nodes: &[String]) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Nodes dataset=\"t\" document=\"t\">\n{}</Nodes>\n",
        nodes.concat()
    )
    .into_bytes()
}

fn codes(xml: &[u8]) -> Vec<(u32, i64)> {
    validate(xml).unwrap().iter().map(|i| (i.code, i.node_id)).collect()
}

#[test]
fn empty_document_has_no_issues() {
    assert_eq!(validate(b"<Nodes/>").unwrap(), vec![]);
}

#[test]
fn deprecated_with_and_without_replacement() {
    let issues = validate(&doc(&[node(1, "flag", 0, 2, "", ""), node(2, "noteheadFull", 0, 2, "", "")])).unwrap();
    assert_eq!(issues[0].code, 1001);
    assert_eq!(issues[0].message, "Class 'noteheadFull' is deprecated. Use 'noteheadBlack' instead.");
    assert_eq!(issues[0].resolution, Some(vec![ClassUpdate { node_id: 2, new_class_name: "noteheadBlack".into() }]));
    assert_eq!(issues[1].code, 1008);
    assert_eq!(issues[1].message, "Class 'flag' is deprecated. See the annotation instructions for more info.");
    assert_eq!(issues[1].resolution, None);
}

#[test]
fn orientation_flag_below_notehead() {
    let issues =
        validate(&doc(&[node(1, "noteheadBlack", 0, 10, "2", ""), node(2, "flag8thUp", 20, 10, "", "")])).unwrap();
    let o = issues.iter().find(|i| i.code == 2001).unwrap();
    assert_eq!(o.message, "Node 'flag8thUp' should be 'flag8thDown' since it is actually below the notehead.");
    assert_eq!(o.node_id, 2);
    assert_eq!(o.fingerprint.as_deref(), Some("1"));
}

#[test]
fn single_pixel_stem_rle_and_bitmap() {
    // 3 rows x 2 columns, one pixel per row: a line
    let rle = node(1, "stem", 0, 3, "", "<Mask>0:0 1:1 0:1 1:1 0:1 1:1 0:1</Mask>");
    let bitmap = node(2, "stem", 0, 3, "", "<Mask>1 0 0 1 1 0</Mask>");
    let thick = node(3, "stem", 0, 3, "", "<Mask>0:0 1:6</Mask>");
    let c = codes(&doc(&[rle, bitmap, thick]));
    assert!(c.contains(&(3003, 1)) && c.contains(&(3003, 2)) && !c.contains(&(3003, 3)), "{c:?}");
}

#[test]
fn transcription_missing() {
    let with = node(
        1,
        "tempoText",
        0,
        2,
        "",
        "<Data><DataItem key=\"text_transcription\" type=\"str\">Allegro</DataItem></Data>",
    );
    let without = node(2, "tempoText", 0, 2, "", "");
    let empty = node(3, "tempoText", 0, 2, "", "<Data><DataItem key=\"text_transcription\" type=\"str\"/></Data>");
    let c: Vec<_> = codes(&doc(&[with, without, empty])).into_iter().filter(|c| c.0 == 4001).collect();
    assert_eq!(c, vec![(4001, 2), (4001, 3)]);
}

#[test]
fn grammar_link_cardinality_unknown_and_negative_ids() {
    let issues = validate(&doc(&[
        node(1, "stem", 0, 2, "2", "<Mask>0:0 1:4</Mask>"),
        node(2, "noteheadBlack", 0, 2, "", ""),
        node(-3, "noteheadBlack", 0, 2, "", ""),
        node(4, "mystery", 0, 2, "", ""),
    ]))
    .unwrap();
    let link = issues.iter().find(|i| i.code == 5101).unwrap();
    assert_eq!(
        link.message,
        "[\u{1F534} syntax] link [stem:1]-->[noteheadBlack:2] is present but not allowed by the grammar."
    );
    assert_eq!(link.fingerprint.as_deref(), Some("2"));
    assert!(issues.iter().any(|i| i.code == 5102 && i.node_id == 1
        && i.message == "[stem] should have at least 1 [\u{1F534} syntax] inlink from [noteheadHalf, noteheadBlack, noteheadHalfSmall, noteheadBlackSmall] but currently has 0."));
    assert!(issues.iter().any(|i| i.code == 5001 && i.node_id == -3 && i.fingerprint.is_none()));
    assert!(
        issues.iter().any(|i| i.code == 5002
            && i.node_id == 4
            && i.message == "Class name \"mystery\" does not exist in MuNG 2.0")
    );
}

#[test]
fn sequentiality_and_staff_count() {
    let nodes = [
        node(1, "timeSignature", 0, 2, "2 3", ""),
        node(2, "timeSig3", 0, 2, "", ""),
        node(3, "timeSig4", 0, 2, "", ""),
        node(10, "staff", 0, 2, "", ""),
        node(11, "staff", 0, 2, "", ""),
        node(20, "measureSeparator", 0, 2, "10 11", ""),
        node(21, "measureSeparator", 0, 2, "10 11", ""),
        node(22, "measureSeparator", 0, 2, "10", ""),
    ];
    let issues = validate(&doc(&nodes)).unwrap();
    let seq = issues.iter().find(|i| i.code == 5301).unwrap();
    assert_eq!(
        seq.message,
        "Children of [timeSignature:1] are not sequentially ordered via [\u{1F7E2} precedence] links."
    );
    let sc: Vec<_> = issues.iter().filter(|i| i.code == 5302).collect();
    assert_eq!(sc.len(), 1);
    assert_eq!(sc[0].node_id, 22);
    assert!(sc[0].message.starts_with("\u{26A0}\u{FE0F} [measureSeparator:22] links to an unexpected number (1) of [staff] nodes. Most common staff count is 2."));
}

#[test]
fn deferrals() {
    let ok = node(1, "noteheadBlack", 0, 2, "", "");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed", b"<Nodes><Node>".to_vec()),
        ("empty", b"".to_vec()),
        ("doctype", [b"<!DOCTYPE Nodes>".to_vec(), doc(std::slice::from_ref(&ok))[39..].to_vec()].concat()),
        ("latin-1", String::from_utf8(doc(std::slice::from_ref(&ok))).unwrap().replace("utf-8", "ISO-8859-1").into_bytes()),
        ("not utf-8", [b"<Nodes><Node><Id>1</Id><ClassName>\xe9</ClassName></Node></Nodes>".as_slice()].concat()),
        ("bad id", doc(&[node(1, "x", 0, 2, "", "")]).replace_id("<Id>1</Id>", "<Id>one</Id>")),
        ("float id", doc(&[node(1, "x", 0, 2, "", "")]).replace_id("<Id>1</Id>", "<Id>1.0</Id>")),
        ("duplicate id", doc(&[ok.clone(), ok.clone()])),
        ("dangling link", doc(&[node(1, "noteheadBlack", 0, 2, "7", "")])),
        ("bad RLE total", doc(&[node(1, "stem", 0, 2, "", "<Mask>0:0 1:5</Mask>")])),
        ("bad bitmap value", doc(&[node(1, "stem", 0, 2, "", "<Mask>0 1 2 300</Mask>")])),
        ("stem without mask", doc(&[node(1, "stem", 0, 2, "", "")])),
        ("empty mask", doc(&[node(1, "x", 0, 2, "", "<Mask/>")])),
        ("missing ClassName", b"<Nodes><Node><Id>1</Id><Top>0</Top><Left>0</Left><Width>1</Width><Height>1</Height></Node></Nodes>".to_vec()),
        ("missing Top", b"<Nodes><Node><Id>1</Id><ClassName>x</ClassName><Left>0</Left><Width>1</Width><Height>1</Height></Node></Nodes>".to_vec()),
        ("double space in links", doc(&[node(1, "x", 0, 2, "1  1", "")])),
        ("DataItem without type", doc(&[node(1, "x", 0, 2, "", "<Data><DataItem key=\"a\">1</DataItem></Data>")])),
        ("dangling precedence", doc(&[node(1, "x", 0, 2, "", "<Data><DataItem key=\"precedence_outlinks\" type=\"list[int]\">9</DataItem></Data>")])),
        ("empty class with a link", doc(&[node(1, "", 0, 2, "1", "")])),
    ];
    for (what, xml) in cases {
        assert!(validate(&xml).is_err(), "{what} should defer: {:?}", validate(&xml));
    }
}

trait ReplaceId {
    fn replace_id(&self, from: &str, to: &str) -> Vec<u8>;
}

impl ReplaceId for Vec<u8> {
    fn replace_id(&self, from: &str, to: &str) -> Vec<u8> {
        String::from_utf8(self.clone()).unwrap().replace(from, to).into_bytes()
    }
}
