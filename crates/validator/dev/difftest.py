"""Differential test of the Rust fast path against the Python reference (dev tool).

    PY=~/.cache/mung-runtime/venvs/baseline-7573e093bb5c/bin/python
    PYTHONPATH=python-wasm/packages:$HOME/.cache/mung-runtime/mung-1.2.1/site \
        $PY crates/validator/dev/difftest.py [N] [SEED]

Mutates corpus and fixture documents (N variants, default 3000), runs the reference on
each, then the Rust `validate_json` example (built with
`cargo build --release -p mung-runtime-validator --example validate_json` into
$CARGO_TARGET_DIR, default target-validator), and reports: exact matches, defers (split by
whether the reference failed), and mismatches (a Rust answer that differs from the
reference, or a Rust answer where the reference failed) -- which must be 0.
"""

import glob
import json
import os
import random
import subprocess
import sys
import tempfile

from lxml import etree

from mstudio.validation import validate

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
DATA = os.path.join(ROOT, "../shared/data")

CLASSES = ("noteheadFull noteheadBlack noteheadHalf noteheadWhole noteheadBlackSmall flag fermata "
           "flag8thUp flag8thDown flag16thUp articStaccatoAbove articStaccatoBelow fermataAbove "
           "fermataBelow graceNoteSlashStemUp graceNoteSlashStemDown articAccentBelow stem staffLine "
           "barlineSingle barlineHeavy staff staffSpace legerLine beam sharp accidentalSharp "
           "keySignature timeSignature timeSig4 timeSigCommon dynamicsText dynamicPiano dynamicForte "
           "tuplet tuplet3 tupletBracket measureSeparator restText tempoText verseNumber lyricsText "
           "restQuarter restWhole slur tie augmentationDot unknownThing barline numeral3 custos "
           "arpeggiatoUp mensuralProlationCombiningDot None").split()


def base_documents():
    docs = []
    for p in ["tests/fixtures/small.xml", "tests/fixtures/small-fixable.xml"]:
        docs.append(open(os.path.join(ROOT, p), "rb").read())
    for p in sorted(glob.glob(os.path.join(DATA, "mung-samples/*/*.xml"))):
        docs.append(open(p, "rb").read())
    return docs


def muscima_pieces(rng, k):
    files = sorted(glob.glob(os.path.join(DATA, "muscima-pp-v2.0/annotations/*.xml")))
    out = []
    for p in rng.sample(files, k):
        root = etree.fromstring(open(p, "rb").read())
        nodes = root.findall("Node")
        for _ in range(3):
            n = rng.randint(20, 120)
            s = rng.randint(0, max(0, len(nodes) - n))
            keep = nodes[s:s + n]
            ids = {el.findtext("Id") for el in keep}
            dangle = 0.02 if rng.random() < 0.1 else 0.0
            new = etree.Element("Nodes", root.attrib)
            for el in keep:
                el = etree.fromstring(etree.tostring(el))
                for f in ("Outlinks", "Inlinks"):
                    e = el.find(f)
                    if e is not None and e.text:
                        toks = [t for t in e.text.split(" ") if t in ids or rng.random() < dangle]
                        if toks:
                            e.text = " ".join(toks)
                        else:
                            el.remove(e)
                new.append(el)
            out.append(etree.tostring(new, xml_declaration=True, encoding="utf-8"))
    return out


def rand_mask(rng, h, w):
    k = rng.random()
    if k < 0.35:        # valid RLE
        total = max(h, 0) * max(w, 0)
        runs, v, left = [], 0, total
        while left > 0:
            n = rng.randint(1, max(1, left // 3 + 1))
            n = min(n, left)
            runs.append(f"{v}:{n}")
            left -= n
            v = 1 - v
        return " ".join(["0:0"] + runs)
    if k < 0.45:        # single-pixel line (per row or column)
        hh, ww = max(h, 0), max(w, 0)
        vals = [[0] * ww for _ in range(hh)]
        for r in range(hh):
            if ww:
                vals[r][rng.randrange(ww)] = 1
        return " ".join(str(x) for row in vals for x in row) if rng.random() < 0.5 else \
            " ".join(f"{x}:1" for row in vals for x in row) if hh * ww else "0:0"
    if k < 0.6:         # bitmap with odd values
        n = max(h, 0) * max(w, 0) + rng.choice([0, 0, 0, 1, -1])
        pool = ["0", "1", "1", "2", "0.5", "1.0", "255", "-0.5", "256", "1e0", "nan", " 1"]
        return " ".join(rng.choice(pool) for _ in range(max(n, 0))) or "None"
    pool = ["None", "", "0:1 1:", "0:0", "1:3", "0:-1 1:5", "0: 3", "a:b", "0:0  1:4", "0:0 1:4 ",
            "0:0 1:4\n", "01:4", "2:4"]
    return rng.choice(pool)


def mutate(rng, xml):
    if rng.random() < 0.02:
        return xml[:rng.randrange(len(xml))]
    if rng.random() < 0.12:
        # raw insertion, preferably inside a text or tag
        pos = rng.randrange(len(xml))
        if rng.random() < 0.7:
            q = xml.find(rng.choice([b"</ClassName>", b"</Id>", b"</Outlinks>", b"</Mask>", b"</DataItem>",
                                     b"<Node>", b"<Nodes", b"</Top>"]), pos)
            if q < 0:
                q = xml.find(b"</ClassName>")
            pos = q if q >= 0 else pos
        ins = rng.choice([b"<", b"&", b"&#49;", b"]]>", b"\x00", b"\xff", b"<!--x-->", b"<!--a--b-->",
                          b"<![CDATA[7]]>", b"<![CDATA[]]>", b"\r\n", b"&amp;", b"&#0;", b"&#x1F;", b"\x01",
                          b"\t", "\u00e9".encode(), b"&#233;", b"&#x10FFFF;", b"&#xD800;", b"<?pi x?>",
                          b"<?xml version='1.0'?>", b" xmlns='u'", b" xmlns:a='u' a:key='x'",
                          b" xml:lang='en'", b" xml:space='bogus'", b"<x/>", b"<Id>5</Id>", b"\xc3",
                          b"\xef\xbb\xbf", b"\r", b"&lt;", b"&quot;", b"&e;", b"<a:b/>", b"\x85",
                          "\u2028".encode(), "\u00a0".encode()])
        return xml[:pos] + ins + xml[pos:]
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError:
        return xml
    nodes = list(root.iter("Node")) or list(root.iter("CropObject"))
    if not nodes:
        return xml
    ids = [el.findtext("Id") for el in nodes]
    header = b'<?xml version="1.0" encoding="utf-8"?>\n'
    for _ in range(rng.randint(1, 4)):
        el = rng.choice(nodes)
        k = rng.randrange(22)
        if k in (6, 15, 17, 18, 20) and rng.random() < 0.6:
            k = rng.choice([0, 1, 3, 5, 8, 11, 21])
        if k in (0, 1, 2):
            c = el.find("ClassName")
            if c is not None:
                c.text = rng.choice(CLASSES) if rng.random() < 0.95 else rng.choice(["", " stem", None])
        elif k == 3:
            e = el.find("Outlinks")
            if e is None:
                e = etree.SubElement(el, "Outlinks")
                e.text = rng.choice(ids)
            else:
                e.text = (e.text or "") + " " + rng.choice(ids + ["99999", el.findtext("Id")])
        elif k == 4:
            e = el.find("Outlinks")
            if e is not None and e.text:
                toks = e.text.split(" ")
                toks.pop(rng.randrange(len(toks)))
                e.text = " ".join(toks) if toks else None
        elif k == 5:
            other = rng.choice(nodes)
            t = other.find("Outlinks")
            if t is None:
                t = etree.SubElement(other, "Outlinks")
            t.text = " ".join(filter(None, [t.text, el.findtext("Id"), el.findtext("Id")]))
        elif k == 6:
            el.find("Id").text = rng.choice(ids + ["3.0", " 7 ", "+2", "-3", "1e3", "9223372036854775808",
                                                   "-9223372036854775808", "", "x"])
        elif k == 7:
            d = el.find("Data")
            if d is not None:
                el.remove(d)
        elif k in (8, 9, 10):
            d = el.find("Data")
            if d is None:
                d = etree.SubElement(el, "Data")
            key = rng.choice(["precedence_outlinks", "precedence_inlinks", "text_transcription", "other", None])
            typ = rng.choice(["list[int]", "list[int]", "str", "int", "float", "list[float]", "list", None])
            val = rng.choice([" ".join(rng.sample(ids, min(len(ids), rng.randint(1, 3)))), "", "0", "1",
                              "0.0", "Allegro", "99999", "1.5", "-1"])
            it = etree.SubElement(d, "DataItem")
            if key is not None:
                it.set("key", key)
            if typ is not None:
                it.set("type", typ)
            it.text = val or None
        elif k in (11, 12, 13):
            m = el.find("Mask")
            h = el.findtext("Height")
            w = el.findtext("Width")
            try:
                h, w = int(h), int(w)
            except (TypeError, ValueError):
                h = w = 0
            if rng.random() < 0.3:
                h, w = rng.choice([(1, 5), (5, 1), (3, 3), (0, 4), (2, 0), (10, 2)])
                el.find("Height").text = str(h)
                el.find("Width").text = str(w)
            if m is None:
                m = etree.SubElement(el, "Mask")
            m.text = rand_mask(rng, h, w) or None
            if rng.random() < 0.1:
                el.remove(m)
        elif k == 14:
            f = rng.choice(["Top", "Height", "Left", "Width"])
            e = el.find(f)
            if e is not None:
                e.text = rng.choice(["0", "-5", "3.0", "9223372036854775807", "-9223372036854775808",
                                     "99999999999999999999", " 12 ", "", "7", "1000"])
        elif k == 15:
            p = el.getparent()
            if p is not None:
                gone = el.findtext("Id")
                if rng.random() < 0.8:
                    for o in nodes:
                        for f in ("Outlinks", "Inlinks"):
                            e = o.find(f)
                            if e is not None and e.text:
                                toks = [t for t in e.text.split(" ") if t != gone]
                                e.text = " ".join(toks) if toks else None
                p.remove(el)
                nodes.remove(el)
                if not nodes:
                    break
        elif k == 16:
            e = el.find("ClassName")
            if e is not None:
                e.append(etree.Comment("c"))
        elif k == 17:
            return header.replace(b"utf-8", rng.choice([b"UTF-8", b"ISO-8859-1", b"utf8", b"ascii"])) + \
                etree.tostring(root)
        elif k == 18:
            return b'<!DOCTYPE Nodes [<!ENTITY e "7">]>\n' + etree.tostring(root)
        elif k == 19:
            e = el.find("Outlinks")
            if e is not None and e.text:
                e.text = rng.choice([e.text.replace(" ", "  "), " " + e.text, e.text + "\n",
                                     e.text.replace(" ", " \n")])
        elif k == 20:
            other = rng.choice(nodes)
            for f in ("Id",):
                el.find(f).text = other.findtext(f)
        else:
            e = el.find("Outlinks")
            if e is None:
                e = etree.SubElement(el, "Outlinks")
            e.text = " ".join(rng.sample(ids, min(len(ids), rng.randint(1, 6))))
    return header + etree.tostring(root, encoding="utf-8")


def reference(xml):
    try:
        return {"issues": validate(xml)}
    except Exception as exc:            # noqa: BLE001 -- any failure means "must defer"
        return {"error": type(exc).__name__, "detail": str(exc)[:80]}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    bases = base_documents() + muscima_pieces(rng, 12)
    tmp = tempfile.mkdtemp(prefix="vdiff-")
    paths, refs = [], []
    for i in range(n):
        xml = rng.choice(bases)
        for _ in range(rng.choice([1, 1, 2])):
            xml = mutate(rng, xml)
        p = os.path.join(tmp, f"{i:05d}.xml")
        open(p, "wb").write(xml)
        paths.append(p)
        refs.append(reference(xml))
    for b_i, xml in enumerate(bases):       # the unmutated bases too
        p = os.path.join(tmp, f"base{b_i:03d}.xml")
        open(p, "wb").write(xml)
        paths.append(p)
        refs.append(reference(xml))
    exe = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target-validator")),
                       "release/examples/validate_json")
    res = subprocess.run([exe], input="\n".join(paths) + "\n", capture_output=True, text=True, check=True)
    got = [json.loads(line) for line in res.stdout.split("\n") if line]
    stats = {"match": 0, "defer (reference failed)": 0, "defer (reference succeeded)": 0, "MISMATCH": 0}
    reasons = {}
    for p, r, g in zip(paths, refs, got):
        if "defer" in g:
            key = "defer (reference failed)" if "error" in r else "defer (reference succeeded)"
            stats[key] += 1
            if "error" not in r:
                reasons[g["defer"]] = reasons.get(g["defer"], 0) + 1
        elif "issues" in r and r["issues"] == g["issues"]:
            stats["match"] += 1
        else:
            stats["MISMATCH"] += 1
            print("MISMATCH", p, "reference:", json.dumps(r)[:300], "\n   rust:", json.dumps(g)[:300])
    print(json.dumps(stats))
    print("defers where the reference succeeded:", json.dumps(reasons, indent=1))
    errs = {}
    for r in refs:
        if "error" in r:
            d = r["detail"].split(": ", 1)[-1][:40]
            errs[d] = errs.get(d, 0) + 1
    print("reference failures:", len(errs), sorted(errs.items(), key=lambda x: -x[1])[:15])
    print("variants in", tmp)
    return 1 if stats["MISMATCH"] else 0


if __name__ == "__main__":
    sys.exit(main())
