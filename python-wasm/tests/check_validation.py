"""Native end-to-end check of ``mstudio.validation`` against the expected outputs.

Usage (native CPython 3.11, mung 1.2.1 and our packages on the path)::

    PYTHONPATH=/tmp/pydev:/work/main/python-wasm/packages \\
        /tmp/nativevenv/bin/python python-wasm/tests/check_validation.py \\
        [--data /work/shared/data] [--fixtures tests/fixtures] [--quick]

Checks, in order (exit code 0 only if every check passes):

1. every document with an expected file (``mung-samples`` and the 100 MUSCIMA++ 2.0
   documents): the issue list equals the expected JSON list (parsed), and its form is the
   same -- ``json.dumps(result, indent=0, ensure_ascii=False)`` equals the file bytes (the
   files are written that way), and ``json.dumps(result)`` (MuNG Studio's
   ``ensure_ascii=True``) equals ``json.dumps`` of the parsed file (key order, int vs
   float, emoji as surrogate escapes);
2. the MUSCIMA++ 1.0 files: per-code counts of spec §1.2;
3. the hand-written fixture ``small.xml`` against ``small.expected.json`` (derived by hand,
   see ``tests/fixtures/README.md``) and ``fix()`` on ``small-fixable.xml``;
4. bad inputs: each must raise ``InvalidInput`` with a clear, located message
   (duplicate ids included: the reference tolerates them, mung-runtime refuses them);
5. more behaviour: str == bytes input, fix() on real documents re-validates without
   fixable issues and changes only ClassName text, the fix cycle guard, the emulated edge
   order against this (64-bit) interpreter's own set order.

Prints per-document OK/FAIL (with the first difference) and the total validation time.
"""

import argparse
import collections
import glob
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
try:
    import mstudio  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "python-wasm", "packages"))

from mstudio.errors import InvalidInput  # noqa: E402
from mstudio.validation import fix, validate  # noqa: E402

# spec §1.2: counts for the three MUSCIMA++ 1.0 files under the product
MUSCIMA10_COUNTS = {
    "CVC-MUSCIMA_W-01_N-10_D-ideal.xml": {1012: 27, 5002: 581, 5101: 1272, 5102: 226, 5201: 460},
    "CVC-MUSCIMA_W-01_N-10_D-ideal.b.xml": {1012: 3, 5002: 39, 5101: 33, 5102: 7},
    "CVC-MUSCIMA_W-07_N-08_D-ideal.staffspace.xml": {1012: 19, 5002: 473, 5101: 672,
                                                      5102: 288},
}

FAILURES = []


def report(ok, name, detail=""):
    print("%s %s%s" % ("OK  " if ok else "FAIL", name, (": " + detail) if detail else ""))
    if not ok:
        FAILURES.append(name)
    return ok


def first_difference(got, expected):
    n = min(len(got), len(expected))
    for k in range(n):
        if got[k] != expected[k]:
            return "issue #%d differs:\n       got      %r\n       expected %r" % (
                k, got[k], expected[k])
    return "lengths differ: got %d issues, expected %d" % (len(got), len(expected))


# ---------------------------------------------------------------------------
# 1. documents with expected outputs


def expected_pairs(data_dir):
    pairs = []
    samples = os.path.join(data_dir, "mung-samples")
    exp_dir = os.path.join(samples, "expected-validation")
    for sub in ("test_data", "sandbox-data", "mung2midi-sample"):
        for xml in sorted(glob.glob(os.path.join(samples, sub, "*.xml"))):
            name = os.path.basename(xml)
            if sub == "test_data" and name in MUSCIMA10_COUNTS:
                continue          # MUSCIMA++ 1.0: no expected file (same stem as 2.0 one)
            exp = os.path.join(exp_dir, name[:-4] + ".json")
            if os.path.exists(exp):
                pairs.append((xml, exp))
    corpus = os.path.join(data_dir, "muscima-pp-v2.0")
    for xml in sorted(glob.glob(os.path.join(corpus, "annotations", "*.xml"))):
        exp = os.path.join(corpus, "expected-validation", os.path.basename(xml)[:-4] + ".json")
        if os.path.exists(exp):
            pairs.append((xml, exp))
    return pairs


def check_expected(data_dir):
    pairs = expected_pairs(data_dir)
    total = 0.0
    corpus_time = 0.0
    for xml_path, exp_path in pairs:
        with open(xml_path, "rb") as f:
            data = f.read()
        t0 = time.perf_counter()
        try:
            got = validate(data)
        except Exception as exc:
            report(False, os.path.basename(xml_path), "%s: %s" % (type(exc).__name__, exc))
            continue
        dt = time.perf_counter() - t0
        total += dt
        if "muscima-pp-v2.0" in xml_path:
            corpus_time += dt
        with open(exp_path, "rb") as f:
            raw = f.read()
        expected = json.loads(raw.decode("utf-8"))
        name = os.path.basename(xml_path)
        if got != expected:
            report(False, name, first_difference(got, expected))
        elif json.dumps(got, indent=0, ensure_ascii=False).encode("utf-8") != raw:
            report(False, name, "same issues, but json.dumps(indent=0, ensure_ascii=False) "
                                "differs from the file")
        elif json.dumps(got) != json.dumps(expected):
            report(False, name, "same issues, but json.dumps (ensure_ascii=True) differs")
        else:
            report(True, name, "%d issues, %.3f s" % (len(got), dt))
    n_corpus = sum(1 for p in pairs if "muscima-pp-v2.0" in p[0])
    print("validated %d documents with expected outputs in %.2f s (the %d MUSCIMA++ 2.0 "
          "documents: %.2f s)" % (len(pairs), total, n_corpus, corpus_time))
    if not pairs:
        report(False, "expected outputs", "no documents found under %s" % data_dir)


# ---------------------------------------------------------------------------
# 2. MUSCIMA++ 1.0


def check_muscima10(data_dir):
    for name, counts in sorted(MUSCIMA10_COUNTS.items()):
        path = os.path.join(data_dir, "mung-samples", "test_data", name)
        if not os.path.exists(path):
            report(False, "1.0 " + name, "missing")
            continue
        with open(path, "rb") as f:
            got = collections.Counter(i["code"] for i in validate(f.read()))
        ok = dict(got) == counts
        report(ok, "1.0 counts " + name, "%s" % dict(sorted(got.items())) if ok else
               "got %s, spec says %s" % (dict(sorted(got.items())), counts))


# ---------------------------------------------------------------------------
# 3. fixtures


def changed_lines(before, after):
    a = before.splitlines()
    b = after.splitlines()
    if len(a) != len(b):
        return None
    return [(x, y) for x, y in zip(a, b) if x != y]


def check_fixtures(fixtures):
    small = os.path.join(fixtures, "small.xml")
    with open(small, "rb") as f:
        data = f.read()
    with open(os.path.join(fixtures, "small.expected.json"), "rb") as f:
        raw = f.read()
    expected = json.loads(raw.decode("utf-8"))
    got = validate(data)
    if got != expected:
        report(False, "fixture small.xml", first_difference(got, expected))
    else:
        report(json.dumps(got, indent=0, ensure_ascii=False).encode("utf-8") == raw,
               "fixture small.xml", "%d issues" % len(got))

    path = os.path.join(fixtures, "small-fixable.xml")
    with open(path, "rb") as f:
        data = f.read()
    out, n = fix(data)
    left = [i for i in validate(out) if i["resolution"] is not None]
    changes = changed_lines(data, out)
    only_classname = changes is not None and all(
        b"<ClassName>" in x and b"<ClassName>" in y for x, y in changes)
    report(n == 7 and not left and only_classname and len(changes) == 5,
           "fixture small-fixable.xml fix()",
           "%d renames, %d fixable issues left, %s changed lines" % (
               n, len(left), None if changes is None else len(changes)))
    codes = [i["code"] for i in validate(out) if i["code"] < 5000]
    report(codes == [1008], "fixture small-fixable.xml after fix", "1xxx-4xxx left: %s" % codes)


# ---------------------------------------------------------------------------
# 4. bad inputs


def node(nid, cls, extra="", top=0, left=0, width=2, height=2, mask=True, outlinks=None):
    parts = ["<Node><Id>%s</Id><ClassName>%s</ClassName><Top>%s</Top><Left>%s</Left>"
             "<Width>%s</Width><Height>%s</Height>" % (nid, cls, top, left, width, height)]
    if mask is True:
        parts.append("<Mask>0:0 1:%d</Mask>" % (int(width) * int(height)))
    elif mask:
        parts.append("<Mask>%s</Mask>" % mask)
    if outlinks is not None:
        parts.append("<Outlinks>%s</Outlinks>" % outlinks)
    parts.append(extra)
    parts.append("</Node>")
    return "".join(parts)


def doc(*nodes):
    return ('<?xml version="1.0" encoding="utf-8"?>\n<Nodes dataset="t" document="t">\n'
            + "\n".join(nodes) + "\n</Nodes>\n")


LOL = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
       + "".join(' <!ENTITY lol%d "%s">\n' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;")
                                                     * 10) for i in range(1, 10))
       + "]>\n<Nodes><Node><Id>1</Id><ClassName>&lol9;</ClassName><Top>0</Top><Left>0</Left>"
       "<Width>1</Width><Height>1</Height></Node></Nodes>")
XXE = ('<?xml version="1.0"?>\n<!DOCTYPE Nodes [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       "<Nodes><Node><Id>1</Id><ClassName>&xxe;</ClassName><Top>0</Top><Left>0</Left>"
       "<Width>1</Width><Height>1</Height></Node></Nodes>")
XXE_ATTR = ('<?xml version="1.0"?>\n<!DOCTYPE Nodes SYSTEM "file:///etc/passwd">\n'
            '<Nodes document="x"/>')

BAD_INPUTS = [
    ("empty string", "", "empty"),
    ("empty bytes", b"", "empty"),
    ("whitespace only", "  \n ", "empty"),
    ("not XML", "this is not XML", "not a well-formed XML document"),
    ("truncated", doc(node(1, "stem"))[:-30], "not a well-formed XML document"),
    ("binary garbage", bytes(range(256)) * 4, "not a well-formed XML document"),
    ("billion laughs", LOL, ""),
    ("XXE to /etc/passwd", XXE, "DOCTYPE"),
    ("external DTD", XXE_ATTR, "DOCTYPE"),
    ("external parameter entity",
     '<?xml version="1.0"?><!DOCTYPE Nodes [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
     '<Nodes/>', "DOCTYPE"),
    ("wrong type", 12345, "str or bytes"),
    ("RLE total too small", doc(node(3, "stem", width=2, height=3, mask="0:0 1:5")),
     "node id 3 (line 3): RLE Mask run lengths add up to 5, but Width*Height is 2*3 = 6"),
    ("RLE total too large", doc(node(4, "beam", width=2, height=2, mask="0:2 1:5")),
     "node id 4 (line 3): RLE Mask run lengths add up to 7"),
    ("RLE bad token", doc(node(5, "beam", width=2, height=2, mask="0:2 1:x")), "node id 5"),
    ("empty Mask", doc(node(6, "beam", extra="<Mask/>", mask=False)), "Mask is empty"),
    ("bitmap wrong size", doc(node(7, "beam", width=2, height=2, mask="1 0 1")), "bitmap"),
    ("Top not an integer", doc(node(12, "stem", top="3.0")),
     "node id 12 (line 3): Top is not an integer: '3.0'"),
    ("Id not a number", doc(node("x1", "stem")), "Id is not a number"),
    ("missing Id", doc("<Node><ClassName>stem</ClassName></Node>"), "has no <Id>"),
    ("missing ClassName", doc("<Node><Id>2</Id><Top>0</Top></Node>"),
     "node id 2 (line 3): missing <ClassName>"),
    ("missing Width", doc("<Node><Id>2</Id><ClassName>a</ClassName><Top>0</Top><Left>0</Left>"
                          "<Height>1</Height></Node>"), "missing <Width>"),
    ("double space in Outlinks", doc(node(1, "beam", outlinks="2  2"), node(2, "beam")),
     "Outlinks has an empty entry"),
    ("link to a missing node", doc(node(1, "noteheadBlack", outlinks="2 99"), node(2, "stem")),
     "node id 1 (line 3): Outlinks refers to id 99, which is not the id of any node"),
    ("inlink from a missing node", doc(node(1, "stem", extra="<Inlinks>42</Inlinks>")),
     "Inlinks refers to id 42"),
    ("precedence link to a missing node",
     doc(node(1, "noteheadBlack", extra='<Data><DataItem key="precedence_outlinks" '
              'type="list[int]">7</DataItem></Data>')),
     "precedence link to 7, which is not the id of any node"),
    ("stem without a mask", doc(node(8, "stem", mask=False)),
     "node id 8 (line 3): a 'stem' node must have a Mask"),
    ("staffLine with mask None", doc(node(9, "staffLine", mask="None")), "must have a Mask"),
    ("DataItem without type", doc(node(1, "beam", extra='<Data><DataItem key="a">1</DataItem>'
                                                      '</Data>')), "has no type attribute"),
    ("DataItem int not int", doc(node(1, "beam", extra='<Data><DataItem key="a" type="int">'
                                                      'x</DataItem></Data>')), "invalid value"),
    ("empty ClassName with a link", doc(node(1, "", outlinks="2"), node(2, "stem")),
     "empty ClassName"),
]


def check_bad_inputs():
    for name, xml, needle in BAD_INPUTS:
        t0 = time.perf_counter()
        try:
            result = validate(xml)
        except InvalidInput as exc:
            msg = str(exc)
            dt = time.perf_counter() - t0
            report(needle in msg and dt < 5, "bad input: " + name, "%r (%.3f s)" % (msg, dt))
        except Exception as exc:
            report(False, "bad input: " + name, "wrong error %s: %s" % (type(exc).__name__,
                                                                       exc))
        else:
            report(False, "bad input: " + name, "no error, %d issues" % len(result))
    # XXE: the file content must never show up anywhere
    try:
        validate(XXE)
    except InvalidInput as exc:
        report("root:" not in str(exc), "XXE content not leaked")
    # an external DTD that exists and would define the entity: never loaded
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        dtd = os.path.join(tmp, "leak.dtd")
        with open(dtd, "w") as f:
            f.write('<!ENTITY leak "LEAKED">\n<!ATTLIST Nodes document CDATA "LEAKED">\n')
        leak = ('<?xml version="1.0"?>\n<!DOCTYPE Nodes SYSTEM "file://%s">\n<Nodes><Node>'
                '<Id>1</Id><ClassName>&leak;</ClassName><Top>0</Top><Left>0</Left><Width>1'
                '</Width><Height>1</Height></Node></Nodes>' % dtd)
        try:
            validate(leak)
        except InvalidInput as exc:
            report("DOCTYPE" in str(exc) and "LEAKED" not in str(exc),
                   "external DTD file is never read", str(exc))
        else:
            report(False, "external DTD file is never read", "no error")

    # duplicate ids: the reference tolerates them (spec §4.3), mung-runtime refuses them
    # because links and fixes would be ambiguous
    dup = doc(node(5, "noteheadFull"), node(6, "beam"), node(5, "stem"))
    try:
        validate(dup)
    except InvalidInput as exc:
        report("id 5" in str(exc) and "unique" in str(exc), "duplicate ids are refused", str(exc))
    else:
        report(False, "duplicate ids are refused", "no error")

    # an empty ClassName without links is just an unknown class printed as None
    issues = validate(doc(node(1, "")))
    report([(i["code"], i["message"]) for i in issues]
           == [(5002, 'Class name "None" does not exist in MuNG 2.0')], "empty ClassName, no link")


# ---------------------------------------------------------------------------
# 5. more behaviour


def check_more(data_dir, quick):
    corpus = sorted(glob.glob(os.path.join(data_dir, "muscima-pp-v2.0", "annotations",
                                           "*.xml")))
    sample = corpus[:3] if quick else corpus[::10]
    sandbox = glob.glob(os.path.join(data_dir, "mung-samples", "sandbox-data", "*.xml"))
    # str input gives the same result as bytes
    for path in sandbox[:1] + corpus[:1]:
        with open(path, "rb") as f:
            data = f.read()
        report(validate(data) == validate(data.decode("utf-8")),
               "str == bytes input " + os.path.basename(path))
    # fix(): re-validation has no fixable issue; only ClassName lines change
    for path in sample + sandbox:
        with open(path, "rb") as f:
            data = f.read()
        out, n = fix(data)
        left = sum(1 for i in validate(out) if i["resolution"] is not None)
        changes = changed_lines(data, out)
        ok = (left == 0 and changes is not None
              and all(b"<ClassName>" in x and b"<ClassName>" in y for x, y in changes))
        report(ok, "fix() " + os.path.basename(path), "%d renames, %d fixable left, %s "
               "changed lines" % (n, left, None if changes is None else len(changes)))
    out, n = fix(doc(node(1, "barline")).encode("utf-8"))
    report(n == 1 and b"<ClassName>barlineSingle</ClassName>" in out, "fix() of a str/bytes doc")
    # cycle guard: a flag between two noteheads flips Up/Down forever
    flip = doc(node(1, "noteheadBlack", top=0, height=10, outlinks="3"),
               node(2, "noteheadBlack", top=100, height=10, outlinks="3"),
               node(3, "flag8thUp", top=50, height=10))
    out, n = fix(flip)
    report(n == 1, "fix() stops a rename cycle", "%d renames" % n)

    # emulated edge order == this interpreter's set order (meaningful on 64-bit CPython)
    from mstudio.validation.edgeorder import ordered_pairs
    if sys.maxsize > 2 ** 32 and sys.hash_info.width == 64:
        rng = random.Random(20260101)
        bad = 0
        for trial in range(2000):
            n = rng.choice([1, 2, 5, 9, 40, 300, 3000])
            hi = rng.choice([10, 1000, 10 ** 6, 2 ** 63])
            lo = -hi if rng.random() < 0.2 else 0
            pairs = [(rng.randrange(lo, hi), rng.randrange(lo, hi)) for _ in range(n)]
            pairs += pairs[: n // 4]
            s = set()
            for p in pairs:
                s.add(p)
            if list(s) != ordered_pairs(pairs):
                bad += 1
        report(bad == 0, "edge order emulation vs native 64-bit set order",
               "%d mismatches in 2000 random edge lists" % bad)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--fixtures", default=os.path.join(REPO, "tests", "fixtures"))
    ap.add_argument("--quick", action="store_true", help="fewer fix() documents")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    check_expected(args.data)
    check_muscima10(args.data)
    check_fixtures(args.fixtures)
    check_bad_inputs()
    check_more(args.data, args.quick)
    print("total wall time %.1f s" % (time.perf_counter() - t0))
    if FAILURES:
        print("%d check(s) FAILED: %s" % (len(FAILURES), ", ".join(FAILURES)))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
