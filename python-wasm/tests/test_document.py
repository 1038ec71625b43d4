"""Tests of mstudio.document: encode_mask_rle (vs mung 1.2.1) and add_node (round trip
through mung 1.2.1's reader, byte-for-byte preservation of the rest of the document).

Run as a script (exit code 0 = pass) or with pytest. Needs numpy, lxml and mung 1.2.1
(plus a ``skimage`` for ``mung.node``) on sys.path; the mstudio package is found
relative to this file. Sample data: $MUNG_SAMPLES (default /work/shared/data/mung-samples).
"""

import os
import shutil
import sys
import tempfile

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGES = os.path.join(os.path.dirname(_HERE), "packages")
if _PACKAGES not in sys.path:
    sys.path.insert(0, _PACKAGES)

from mstudio.document import add_node, encode_mask_rle  # noqa: E402
from mstudio.errors import InvalidInput  # noqa: E402

SAMPLES = os.environ.get("MUNG_SAMPLES", "/work/shared/data/mung-samples")
SANDBOX = os.path.join(SAMPLES, "sandbox-data",
                       "4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154.jpg.xml")
MUSCIMA1 = os.path.join(SAMPLES, "test_data", "CVC-MUSCIMA_W-01_N-10_D-ideal.b.xml")


from _runner import skip  # noqa: E402


def read_bytes(path):
    if not os.path.exists(path):
        skip("sample document not found: " + path)
    with open(path, "rb") as f:
        return f.read()


def read_back(doc_bytes):
    """Nodes of a document, read by mung 1.2.1 from a temporary file."""
    from mung.io import read_nodes_from_file

    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "doc.xml")
        with open(path, "wb") as f:
            f.write(doc_bytes)
        return read_nodes_from_file(path)
    finally:
        shutil.rmtree(d)


def expect_invalid(fragment, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except InvalidInput as exc:
        assert fragment in str(exc), str(exc)
        return
    except Exception as exc:
        raise AssertionError("expected InvalidInput({0!r}), got {1!r}".format(fragment, exc))
    raise AssertionError("expected InvalidInput({0!r}), nothing raised".format(fragment))


def split_insertion(before, after, end_tag=b"</Node>"):
    """``after`` must be ``before`` with one insertion right after the last
    ``end_tag``; returns (offset, inserted bytes)."""
    pos = before.rindex(end_tag) + len(end_tag)
    inserted_len = len(after) - len(before)
    assert inserted_len > 0
    assert after[:pos] == before[:pos], "prefix changed"
    assert after[pos + inserted_len:] == before[pos:], "suffix changed"
    return pos, after[pos:pos + inserted_len]


def node_signature(n):
    return (n.id, n.class_name, n.top, n.left, n.width, n.height, list(n.inlinks),
            list(n.outlinks), None if n.mask is None else n.mask.tobytes(), n.data)


# ---------------------------------------------------------------------------
# encode_mask_rle

def test_rle_matches_mung_on_random_masks():
    from mung.node import Node

    rng = np.random.default_rng(20250408)
    count = 0
    for _ in range(3000):
        h, w = (int(v) for v in rng.integers(0, 14, 2))
        p = float(rng.choice([0.0, 0.05, 0.5, 0.95, 1.0]))
        mask = (rng.random((h, w)) < p).astype(np.uint8)
        ours = encode_mask_rle(mask)
        assert ours == Node.encode_mask_rle(mask), (mask, ours, Node.encode_mask_rle(mask))
        if mask.size:
            assert np.array_equal(Node.decode_mask_rle(ours, mask.shape), mask)
        count += 1
    # bigger, structured masks
    for _ in range(50):
        mask = np.zeros((int(rng.integers(1, 80)), int(rng.integers(1, 80))), dtype=np.uint8)
        for _ in range(5):
            y, x = int(rng.integers(0, mask.shape[0])), int(rng.integers(0, mask.shape[1]))
            mask[y:y + 7, x:x + 11] = 1
        assert encode_mask_rle(mask) == Node.encode_mask_rle(mask)
        count += 1
    print("  {0} masks identical to mung 1.2.1".format(count))


def test_rle_format_details():
    assert encode_mask_rle(np.array([[0, 0, 1, 1, 1], [0, 0, 0, 1, 1]], np.uint8)) == "0:2 1:3 0:3 1:2"
    assert encode_mask_rle(np.array([[1, 1], [0, 1]], np.uint8)) == "0:0 1:2 0:1 1:1"
    assert encode_mask_rle(np.ones((2, 3), np.uint8)) == "0:0 1:6"
    assert encode_mask_rle(np.zeros((2, 3), np.uint8)) == "0:6"
    assert encode_mask_rle(np.zeros((0, 3), np.uint8)) == "0:0"
    assert encode_mask_rle(None) == "None"
    # bool and other integer dtypes are accepted and give the uint8 result
    m = np.array([[True, False, True]])
    assert encode_mask_rle(m) == encode_mask_rle(m.astype(np.uint8)) == "0:0 1:1 0:1 1:1"
    assert encode_mask_rle(m.astype(np.int32)) == "0:0 1:1 0:1 1:1"
    expect_invalid("binary", encode_mask_rle, np.array([[0, 255]], np.uint8))
    expect_invalid("dtype", encode_mask_rle, np.array([[0.0, 1.0]]))
    expect_invalid("numpy array", encode_mask_rle, [[0, 1]])


# ---------------------------------------------------------------------------
# add_node on the sandbox page

def test_add_node_sandbox_round_trip():
    raw = read_bytes(SANDBOX)
    mask = np.zeros((30, 40), dtype=np.uint8)
    mask[4:24, 9:33] = 1
    mask[4, 9] = 0
    out, new_id = add_node(raw, "noteheadBlack", 300, 500, mask)
    assert isinstance(out, bytes) and new_id == 355
    pos, inserted = split_insertion(raw, out)
    # inserted right after the last </Node>, in the document's own layout
    assert raw[:pos].endswith(b"</Node>") and raw[pos:] == b"\n</Nodes>"
    rle = encode_mask_rle(mask[4:24, 9:33])
    assert inserted == (
        "\n<Node>\n\t<Id>355</Id>\n\t<ClassName>noteheadBlack</ClassName>\n\t<Top>304</Top>"
        "\n\t<Left>509</Left>\n\t<Width>24</Width>\n\t<Height>20</Height>\n\t<Mask>{0}</Mask>"
        "\n</Node>".format(rle)).encode()
    before = read_back(raw)
    after = read_back(out)
    assert len(after) == len(before) + 1
    assert [node_signature(n) for n in after[:-1]] == [node_signature(n) for n in before]
    new = after[-1]
    assert (new.id, new.class_name, new.top, new.left, new.width, new.height) == \
        (355, "noteheadBlack", 304, 509, 24, 20)
    assert np.array_equal(new.mask, mask[4:24, 9:33])
    assert new.inlinks == [] and new.outlinks == []
    # a second node gets the next id
    out2, id2 = add_node(out, "stem", 10, 10, np.ones((5, 1), np.uint8))
    assert id2 == 356
    assert read_back(out2)[-1].class_name == "stem"


def test_add_node_data_items():
    raw = read_bytes(SANDBOX)
    data = {"text_transcription": "a < b & c", "precedence_outlinks": [3, 4],
            "precedence_inlinks": [], "pitch": 5, "weight": 0.25, "none": None,
            "tags": ["x", "y"]}
    out, new_id = add_node(raw, "otherText", 50, 60, np.ones((3, 4), bool), data)
    _, inserted = split_insertion(raw, out)
    assert b'\n\t<Data>\n\t\t<DataItem key="text_transcription" type="str">a &lt; b &amp; c</DataItem>' \
        in inserted
    assert inserted.endswith(b'\n\t</Data>\n</Node>')
    new = read_back(out)[-1]
    assert new.id == new_id
    assert new.data == {"text_transcription": "a < b & c", "precedence_outlinks": [3, 4],
                        "pitch": 5, "weight": 0.25, "tags": ["x", "y"]}


# ---------------------------------------------------------------------------
# small inline documents

INLINE = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<Nodes dataset="d" document="inline" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:noNamespaceSchemaLocation="CVC-MUSCIMA_Schema.xsd">\n'
    '    <Node>\n'
    '        <Id>4</Id>\n'
    '        <ClassName>noteheadFull</ClassName>\n'
    '        <Top>10</Top>\n'
    '        <Left>20</Left>\n'
    '        <Width>2</Width>\n'
    '        <Height>2</Height>\n'
    '        <Mask>0:0 1:4</Mask>\n'
    '        <Outlinks>9</Outlinks>\n'
    '    </Node>\n'
    '    <!-- a comment with </Node> inside -->\n'
    '    <Node>\n'
    '        <Id>9</Id>\n'
    '        <ClassName>stem</ClassName>\n'
    '        <Top>0</Top>\n'
    '        <Left>21</Left>\n'
    '        <Width>1</Width>\n'
    '        <Height>12</Height>\n'
    '        <Mask>0:0 1:12</Mask>\n'
    '        <Inlinks>4</Inlinks>\n'
    '        <Data>\n'
    '            <DataItem key="precedence_inlinks" type="list[int]">1</DataItem>\n'
    '        </Data>\n'
    '    </Node>\n'
    '</Nodes>\n'
)


def test_add_node_inline_document():
    mask = np.array([[0, 0, 0, 0],
                     [0, 1, 1, 0],
                     [0, 1, 0, 0],
                     [0, 0, 0, 0]], dtype=np.uint8)
    out, new_id = add_node(INLINE, "flag8thUp", 7, 8, mask, {"precedence_inlinks": [9]})
    assert new_id == 10
    expected = INLINE.replace(
        "    </Node>\n</Nodes>\n",
        "    </Node>\n"
        "    <Node>\n"
        "        <Id>10</Id>\n"
        "        <ClassName>flag8thUp</ClassName>\n"
        "        <Top>8</Top>\n"
        "        <Left>9</Left>\n"
        "        <Width>2</Width>\n"
        "        <Height>2</Height>\n"
        "        <Mask>0:0 1:3 0:1</Mask>\n"
        "        <Data>\n"
        '            <DataItem key="precedence_inlinks" type="list[int]">9</DataItem>\n'
        "        </Data>\n"
        "    </Node>\n"
        "</Nodes>\n")
    assert out == expected.encode("utf-8"), out.decode()
    nodes = read_back(out)
    assert [n.id for n in nodes] == [4, 9, 10]
    new = nodes[-1]
    assert (new.class_name, new.top, new.left, new.width, new.height) == ("flag8thUp", 8, 9, 2, 2)
    assert np.array_equal(new.mask, mask[1:3, 1:3])
    assert new.data == {"precedence_inlinks": [9]}
    # bytes in, bytes out; same result
    assert add_node(INLINE.encode(), "flag8thUp", 7, 8, mask, {"precedence_inlinks": [9]}) == (out, 10)


def test_add_node_empty_documents():
    one = np.ones((1, 1), np.uint8)
    for doc, expected in [
        ('<Nodes dataset="a" document="b"/>',
         '<Nodes dataset="a" document="b">\n<Node>\n\t<Id>0</Id>\n\t<ClassName>x</ClassName>'
         '\n\t<Top>1</Top>\n\t<Left>2</Left>\n\t<Width>1</Width>\n\t<Height>1</Height>'
         '\n\t<Mask>0:0 1:1</Mask>\n</Node>\n</Nodes>'),
        ('<?xml version="1.0" encoding="utf-8"?>\n<Nodes>\n</Nodes>\n',
         '<?xml version="1.0" encoding="utf-8"?>\n<Nodes>\n<Node>\n\t<Id>0</Id>\n\t<ClassName>x'
         '</ClassName>\n\t<Top>1</Top>\n\t<Left>2</Left>\n\t<Width>1</Width>\n\t<Height>1</Height>'
         '\n\t<Mask>0:0 1:1</Mask>\n</Node>\n</Nodes>\n'),
    ]:
        out, new_id = add_node(doc, "x", 1, 2, one)
        assert new_id == 0
        assert out.decode() == expected, out.decode()
        n = read_back(out)[0]
        assert (n.id, n.class_name, n.top, n.left, n.width, n.height) == (0, "x", 1, 2, 1, 1)


def test_add_node_crlf_and_latin1():
    doc = INLINE.replace("\n", "\r\n").replace('encoding="utf-8"', 'encoding="ISO-8859-1"')
    doc = doc.replace("<!-- a comment", "<!-- caf\u00e9 comment")
    raw = doc.encode("latin-1")
    out, new_id = add_node(raw, "caf\u00e9", 0, 0, np.ones((2, 2), np.uint8))
    assert new_id == 10
    pos, inserted = split_insertion(raw, out)
    assert inserted.startswith(b"\r\n    <Node>\r\n        <Id>10</Id>\r\n")
    assert b"<ClassName>caf\xe9</ClassName>" in inserted
    assert read_back(out)[-1].class_name == "caf\u00e9"


def test_add_node_muscima_1_0():
    raw = read_bytes(MUSCIMA1)
    before = read_back(raw)
    out, new_id = add_node(raw, "notehead-full", 100, 200, np.ones((3, 3), np.uint8))
    assert new_id == max(n.id for n in before) + 1
    pos, inserted = split_insertion(raw, out, b"</CropObject>")
    assert inserted.startswith(
        '\n<CropObject xml:id="MUSCIMA-pp_1.0___CVC-MUSCIMA_W-01_N-10_D-ideal.b___{0}">\n\t<Id>{0}</Id>'
        .format(new_id).encode())
    assert inserted.endswith(b"\n</CropObject>")
    assert out[pos + len(inserted):] == b"\n</CropObjects>\n</CropObjectList>\n"
    after = read_back(out)
    assert [node_signature(n) for n in after[:-1]] == [node_signature(n) for n in before]
    assert (after[-1].id, after[-1].class_name, after[-1].top, after[-1].left) == \
        (new_id, "notehead-full", 100, 200)
    # an empty MUSCIMA++ 1.0 list
    out, new_id = add_node("<CropObjectList><CropObjects></CropObjects></CropObjectList>",
                           "g-clef", 0, 0, np.ones((1, 1), np.uint8))
    assert new_id == 0 and b"<CropObjects>\n<CropObject>\n\t<Id>0</Id>" in out


def test_add_node_errors():
    one = np.ones((1, 1), np.uint8)
    expect_invalid("the extracted mask is empty", add_node, INLINE, "x", 0, 0, np.zeros((4, 4), np.uint8))
    expect_invalid("binary", add_node, INLINE, "x", 0, 0, np.full((2, 2), 2, np.uint8))
    expect_invalid("2-D", add_node, INLINE, "x", 0, 0, np.ones(3, np.uint8))
    expect_invalid("class_name", add_node, INLINE, "", 0, 0, one)
    expect_invalid("class_name", add_node, INLINE, " x", 0, 0, one)
    expect_invalid("class_name", add_node, INLINE, None, 0, 0, one)
    expect_invalid("top must be an integer", add_node, INLINE, "x", 1.5, 0, one)
    expect_invalid("outside the page", add_node, INLINE, "x", -1, 0, one)
    expect_invalid("not well-formed", add_node, "<Nodes>", "x", 0, 0, one)
    expect_invalid("not a MuNG document", add_node, "<html/>", "x", 0, 0, one)
    expect_invalid("no valid <Id>", add_node, "<Nodes><Node><Id>a</Id></Node></Nodes>", "x", 0, 0, one)
    expect_invalid("xml must be str or bytes", add_node, 42, "x", 0, 0, one)
    expect_invalid("data must be a dict", add_node, INLINE, "x", 0, 0, one, [1])
    expect_invalid("booleans", add_node, INLINE, "x", 0, 0, one, {"a": True})
    expect_invalid("list must hold", add_node, INLINE, "x", 0, 0, one, {"a": ["p q"]})


def test_add_node_does_not_resolve_entities():
    doc = ('<?xml version="1.0"?>\n<!DOCTYPE Nodes [<!ENTITY e SYSTEM "file:///etc/hostname">]>\n'
           '<Nodes>\n<Node>\n\t<Id>1</Id>\n\t<ClassName>&e;</ClassName>\n\t<Top>0</Top>\n\t<Left>0</Left>'
           '\n\t<Width>1</Width>\n\t<Height>1</Height>\n\t<Mask>0:0 1:1</Mask>\n</Node>\n</Nodes>\n')
    out, new_id = add_node(doc, "x", 0, 0, np.ones((1, 1), np.uint8))
    assert new_id == 2
    pos, inserted = split_insertion(doc.encode(), out)
    assert b"&e;" in out[:pos] and b"&e;" not in inserted


# ---------------------------------------------------------------------------

if __name__ == "__main__":
    import _runner

    sys.exit(_runner.main(globals()))
