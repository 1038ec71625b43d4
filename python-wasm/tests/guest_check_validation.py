"""Check ``mstudio.validation`` *inside the sandbox* (wasm32 CPython 3.15), where
``hash()`` is 32-bit and numpy's default integer is int32.

The guest cannot read ``/work/shared``; mount a directory holding ``<stem>.xml`` +
``<stem>.expected.json`` pairs and run this file's source in the guest, e.g. with
``mung-runtime exec`` and the directory granted read-only::

    mung-runtime exec --allow-dir /tmp/wasmtest:/tmp/wasmtest:ro -c \\
        "exec(open('/tmp/wasmtest/guest_check_validation.py').read()); \\
         check_docs('/tmp/wasmtest/docs', first=0, count=10)"

(one call per batch of documents keeps each call under the per-call deadline).
It also runs natively: ``python guest_check_validation.py DOCS_DIR``.

* :func:`check_edge_order` -- the emulated 64-bit set order of §4.7 on fixed
  pseudo-random edge lists, against a digest computed on native 64-bit CPython where the
  emulation was checked against the real ``set`` (``check_validation.py`` does that).
* :func:`check_docs` -- validate documents and compare with their expected outputs.
"""

import hashlib
import json
import os
import random
import sys
import time

# sha256 of repr(the 40 ordered edge lists of _edge_lists()), computed natively (64-bit
# CPython 3.11, where ordered_pairs(...) == list(set(...)) for each of them)
EDGE_ORDER_DIGEST = "2137ac4ec4412dba975ca6f1cb1ef60539de6bb1f03d4a132edd17238b2a465e"


def _edge_lists():
    rng = random.Random(4711)
    lists = []
    for k in range(40):
        n = (1, 2, 7, 50, 400, 3000)[k % 6]
        hi = (100, 10 ** 5, 2 ** 40, 2 ** 63)[k % 4]
        lo = -hi if k % 5 == 0 else 0
        pairs = [(rng.randrange(lo, hi), rng.randrange(lo, hi)) for _ in range(n)]
        lists.append(pairs + pairs[: n // 3])
    return lists


def edge_order_digest():
    from mstudio.validation.edgeorder import ordered_pairs
    h = hashlib.sha256()
    for pairs in _edge_lists():
        h.update(repr(ordered_pairs(pairs)).encode("ascii"))
    return h.hexdigest()


def check_edge_order():
    """True if the emulated order equals the native 64-bit CPython set order."""
    return edge_order_digest() == EDGE_ORDER_DIGEST


def check_docs(docs_dir, first=0, count=None):
    """Validate ``<stem>.xml`` for every ``<stem>.expected.json`` in ``docs_dir``
    (sorted, ``count`` of them from ``first``). Returns a summary dict."""
    from mstudio.validation import validate
    stems = sorted(f[:-len(".expected.json")] for f in os.listdir(docs_dir)
                   if f.endswith(".expected.json"))
    stems = stems[first:] if count is None else stems[first:first + count]
    failed = []
    seconds = 0.0
    for stem in stems:
        with open(os.path.join(docs_dir, stem + ".xml"), "rb") as f:
            data = f.read()
        t0 = time.perf_counter()
        try:
            got = validate(data)
        except Exception as exc:
            failed.append((stem, "%s: %s" % (type(exc).__name__, exc)))
            continue
        seconds += time.perf_counter() - t0
        with open(os.path.join(docs_dir, stem + ".expected.json"), "rb") as f:
            expected = json.loads(f.read().decode("utf-8"))
        if got != expected or json.dumps(got) != json.dumps(expected):
            failed.append((stem, "differs"))
    return {"platform": "%s, maxsize=%d, hash((1, 2))=%d" % (sys.platform, sys.maxsize,
                                                              hash((1, 2))),
            "edge_order_ok": check_edge_order(), "documents": len(stems),
            "failed": failed, "validate_seconds": round(seconds, 3)}


if __name__ == "__main__":
    if len(sys.argv) > 1:
        result = check_docs(sys.argv[1])
    else:
        result = {"edge_order_ok": check_edge_order(), "digest": edge_order_digest()}
    print(json.dumps(result, indent=1))
    ok = result["edge_order_ok"] and not result.get("failed")
    sys.exit(0 if ok else 1)
