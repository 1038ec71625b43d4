# The expected answers of the node tools, straight from the `mstudio` Python
# package in the sandbox (`mung-runtime exec`), for the sandbox page of the
# shared data mounted at /data: its nodes (staff lines with masks), one
# staff's 5 lines (links stripped, as MuNG Studio sends them), that staff
# with its lines, and the whole page with every staff's spaces, each with
# the answer of generate_staff_from_stafflines, generate_staffspaces and
# snap_nodes_to_staves. Masks travel as base64 of one byte per pixel (0/1).
import base64

import numpy as np

import mstudio.extraction as ex
import mstudio.mungxml as mx

with open("/data/" + DOCUMENT, encoding="utf-8") as f:
    doc = mx.read_mung(f.read(), masks={"staffLine"})


def node(n):
    d = n.data or {}
    m = n.mask if n.class_name == "staffLine" else None
    return {"id": n.id, "class_name": n.class_name, "top": n.top, "left": n.left,
            "width": n.width, "height": n.height,
            "outlinks": list(n.outlinks), "inlinks": list(n.inlinks),
            "precedence_outlinks": list(d.get("precedence_outlinks") or []),
            "precedence_inlinks": list(d.get("precedence_inlinks") or []),
            "text_transcription": d.get("text_transcription"),
            "mask": None if m is None else np.asarray(m, dtype=np.uint8)}


def wire(n):
    out = {k: n.get(k) for k in ("id", "class_name", "top", "left", "width", "height",
                                 "outlinks", "inlinks", "precedence_outlinks",
                                 "precedence_inlinks", "text_transcription")}
    m = n.get("mask")
    out["mask"] = None if m is None else base64.b64encode(np.asarray(m, dtype=np.uint8).tobytes()).decode()
    return out


nodes = [node(n) for n in doc.nodes]
by_id = {n["id"]: n for n in nodes}
# The page has staves and lines but no staff -> line links: link by box
# containment, as MuNG Studio's "generate staff" step would have.
lines = [n for n in nodes if n["class_name"] == "staffLine"]
staves = sorted((n for n in nodes if n["class_name"] == "staff"), key=lambda n: n["top"])
for s in staves:
    for l in lines:
        if (s["top"] <= l["top"] and l["top"] + l["height"] <= s["top"] + s["height"]
                and s["left"] <= l["left"] and l["left"] + l["width"] <= s["left"] + s["width"]):
            s["outlinks"].append(l["id"])
            l["inlinks"].append(s["id"])

first = staves[0]
its_lines = [by_id[i] for i in first["outlinks"]]
stripped = [dict(l, outlinks=[], inlinks=[]) for l in its_lines]
staff_answer = ex.generate_staff_from_stafflines(stripped)
spaces_input = [first] + its_lines
spaces_answer = ex.generate_staffspaces(spaces_input)

every_space = ex.generate_staffspaces(nodes)
for k, s in enumerate(staves):
    s["outlinks"].extend(sp["id"] for sp in every_space[6 * k:6 * k + 6])
snap_input = nodes + every_space
snap_answer = ex.snap_nodes_to_staves(snap_input)

{
    "staff": {"input": [wire(n) for n in stripped], "output": wire(staff_answer)},
    "staffspaces": {"input": [wire(n) for n in spaces_input], "output": [wire(n) for n in spaces_answer]},
    "snap": {"input": [wire(n) for n in snap_input], "output": [wire(n) for n in snap_answer]},
}
