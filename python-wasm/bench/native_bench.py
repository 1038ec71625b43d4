#!/usr/bin/env python3
"""Native CPython baselines for `mung-runtime bench`.

    python native_bench.py SPEC.json  >  RESULT.json
    python native_bench.py serve-validation SPEC.json   (see serve_validation)
    python native_bench.py serve-extraction SPEC.json   (see serve_extraction)

SPEC (written by the Rust side, which also writes the binary inputs it names):

    {"runs": N, "tasks": ["turn", "numpy", "loop", "validate", "extract", "cv2"],
     "loop_code": "s = 0\nfor i in range(...): ...",
     "validate": {"small": PATH, "large": PATH, "corpus": [PATH, ...]},
     "extract": {"page": {"file": PATH, "width": W, "height": H},          # raw RGBA
                 "region500": [x, y, w, h],
                 "staff_region": {"file": PATH, "width": W, "height": H},  # raw RGBA
                 "staff_mask": {"file": PATH, "width": W, "height": H},    # raw 0/1
                 "cut_lines": [[[x, y], ...], ...],
                 "stafflines": [{"id", "top", "left", "width", "height",
                                 "mask": {"file", "width", "height"}}, ...]}}

RESULT: {"versions": {...}, "samples": {name: [seconds, ...]}, "cpu": {name: [process CPU
seconds, ...]}, "notes": {name: str}, "errors": {name: str}}. Every sample is one wall-clock measurement (time.perf_counter)
after a warm-up call; rows that time many calls per sample say so in "notes".

The same `mstudio` code the sandbox runs is imported from PYTHONPATH (the packages tree
the sandbox mounts, plus the unpacked `mung` sdist). The OpenCV functions below are the
calls MuNG Studio makes (extraction-spec.md §3), run with IPP off and one thread, as in its
single-threaded Pyodide worker.
"""

import ast
import json
import sys
import time

SAMPLES = {}
CPU = {}
NOTES = {}
ERRORS = {}


def log(msg):
    print("  [native] " + msg, file=sys.stderr, flush=True)


def timed(name, fn, runs, warmup=1, per_sample=1):
    """`runs` samples of `per_sample` calls of `fn` each (seconds per call)."""
    for _ in range(warmup):
        fn()
    out, cpu = [], []
    for _ in range(runs):
        c = time.process_time()
        t = time.perf_counter()
        for _ in range(per_sample):
            fn()
        out.append((time.perf_counter() - t) / per_sample)
        cpu.append((time.process_time() - c) / per_sample)
    SAMPLES[name] = out
    CPU[name] = cpu
    if per_sample > 1:
        NOTES[name] = "each sample averages %d calls" % per_sample
    return out


def guarded(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - a failed baseline is reported, not fatal
        ERRORS[name] = "%s: %s" % (type(e).__name__, e)
        log("%s failed: %s" % (name, ERRORS[name]))


# ------------------------------------------------------------------ turns


def prelude_like_turn(source, ns):
    """What the sandbox's prelude does for one `execute`: parse, split off the final
    expression, compile both, exec, eval, JSON-encode the value."""
    tree = ast.parse(source, "<exec>", "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, "<exec>", "exec")
    expr = compile(last, "<exec>", "eval") if last is not None else None
    exec(body, ns)
    value = eval(expr, ns) if expr is not None else None
    return json.dumps(value, default=lambda o: o.item(), separators=(",", ":"))


LOOP_CODE = ""


def bench_turns(runs, tasks):
    if "turn" in tasks:
        ns = {"__name__": "__main__"}
        assert prelude_like_turn("1+1", ns) == "2"
        timed("turn", lambda: prelude_like_turn("1+1", ns), max(runs, 20), warmup=100, per_sample=1000)
        cache = {}

        def cached_turn(source):
            # The prelude's hot path: compiled snippets are cached by source.
            compiled = cache.get(source)
            if compiled is None:
                tree = ast.parse(source, "<exec>", "exec")
                last = ast.Expression(tree.body.pop().value) if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                compiled = cache[source] = (compile(tree, "<exec>", "exec"),
                                            compile(last, "<exec>", "eval") if last is not None else None)
            body, expr = compiled
            ns.update(json.loads(b"{}"))
            exec(body, ns)
            value = eval(expr, ns) if expr is not None else None
            return json.dumps(value, separators=(",", ":"))

        assert cached_turn("1+1") == "2"
        timed("turn_cached", lambda: cached_turn("1+1"), max(runs, 20), warmup=100, per_sample=1000)
    if "loop" in tasks:
        loop = compile(LOOP_CODE, "<exec>", "exec")
        timed("loop", lambda: exec(loop, {"__name__": "__main__"}), runs)
    if "numpy" in tasks:
        import numpy  # noqa: F401 - imported once, as in the pre-initialised sandbox

        ns = {"__name__": "__main__"}
        code = "import numpy; numpy.arange(10).sum()"
        assert prelude_like_turn(code, ns) == "45"
        timed("numpy", lambda: prelude_like_turn(code, ns), max(runs, 20), warmup=100, per_sample=200)


# ------------------------------------------------------------------ validation


def bench_validation(runs, spec):
    t = time.perf_counter()
    from mstudio.validation import validate

    NOTES["import"] = "import mstudio.validation: %.1f ms" % ((time.perf_counter() - t) * 1e3)
    read = lambda p: open(p, "rb").read()  # noqa: E731
    small, large = read(spec["small"]), read(spec["large"])
    if spec.get("docs", True):
        log("validate: small and large document")
        timed("validate_small", lambda: validate(small), max(runs, 20), warmup=3)
        timed("validate_large", lambda: validate(large), max(runs, 5), warmup=2)
    corpus = [read(p) for p in spec["corpus"]]
    if corpus:
        log("validate: %d-document corpus x %d" % (len(corpus), runs))

        def all_docs():
            for doc in corpus:
                validate(doc)

        timed("validate_corpus", all_docs, runs, warmup=0)


# ------------------------------------------------------------------ extraction

_np = None


def _load(desc, channels):
    with open(desc["file"], "rb") as f:
        data = f.read()
    shape = (desc["height"], desc["width"], channels) if channels > 1 else (desc["height"], desc["width"])
    return _np.frombuffer(data, dtype=_np.uint8).reshape(shape).copy()


def _inputs(spec):
    page = _load(spec["page"], 4)
    x, y, w, h = spec["region500"]
    region500 = _np.ascontiguousarray(page[y:y + h, x:x + w])
    staff_region = _load(spec["staff_region"], 4)
    staff_mask = _load(spec["staff_mask"], 1)
    lines = []
    for n in spec["stafflines"]:
        lines.append({
            "id": n["id"], "class_name": "staffLine", "top": n["top"], "left": n["left"],
            "width": n["width"], "height": n["height"], "outlinks": [], "inlinks": [],
            "precedence_outlinks": [], "precedence_inlinks": [], "text_transcription": None,
            "mask": _load(n["mask"], 1),
        })
    return page, region500, staff_region, staff_mask, spec["cut_lines"], lines


def mstudio_ops(spec):
    """The extraction rows' calls of the same mstudio code the sandbox runs, by row name."""
    import mstudio.extraction as ex

    page, region500, staff_region, staff_mask, cuts, lines = _inputs(spec)
    ops = {
        "otsu_binarize_region": lambda: ex.otsu_binarize_region(page),
        "detect_stafflines": lambda: ex.detect_stafflines(page),
        "detect_stafflines_staff": lambda: ex.detect_stafflines(staff_region),
        "compute_cut_lines": lambda: ex.compute_cut_lines(staff_mask),
        "separate_lines": lambda: ex.separate_lines(0, 0, staff_mask, cuts),
        "otsu_binarize_region_500": lambda: ex.otsu_binarize_region(region500),
    }
    if len(lines) == 5:
        ops["generate_staff_from_stafflines"] = lambda: ex.generate_staff_from_stafflines(lines)
    return ops


def bench_mstudio_extraction(runs, spec):
    log("extraction (mstudio, native)")
    for name, fn in mstudio_ops(spec).items():
        many = name in ("compute_cut_lines", "otsu_binarize_region_500")
        timed("mstudio." + name, fn, max(runs, 20) if many else runs)


# MuNG Studio's own calls (extraction-spec.md §3.1-§3.5), written against cv2 here.


def _cv2():
    import cv2

    cv2.ipp.setUseIPP(False)
    cv2.setNumThreads(1)
    return cv2


def cv_lightness(cv2, rgba):
    return cv2.cvtColor(_np.ascontiguousarray(rgba[:, :, :3]), cv2.COLOR_RGB2HLS)[:, :, 1]


def cv_otsu_binarize_region(cv2, rgba):
    smooth = cv2.bilateralFilter(cv_lightness(cv2, rgba), 5, 25, 25)
    _, light = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return (light == 0).astype(_np.uint8)


def cv_detect_stafflines(cv2, rgba):
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (50, 1))
    closed = cv2.erode(cv2.dilate(cv_lightness(cv2, rgba), kernel), kernel)
    light = cv2.adaptiveThreshold(closed, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 101, 10)
    return (light == 0).astype(_np.uint8)


def _run_centres(column):
    centres, start = [], None
    for i, v in enumerate(column):
        if v and start is None:
            start = i
        elif not v and start is not None:
            centres.append((start + i) / 2)
            start = None
    if start is not None:
        centres.append((start + len(column)) / 2)
    return centres


def py_compute_cut_lines(mask):
    """MuNG Studio's computeCutLines is plain Python over mask columns (no cv2)."""
    h, w = mask.shape
    columns = []
    for x in range(0, w, 10):
        c = _run_centres(mask[:, x].tolist())
        cuts = [(c[j] + c[j + 1]) / 2 for j in range(len(c) - 1)]
        if cuts:
            columns.append((x, cuts))
    counts = {}
    for _, cuts in columns:
        counts[len(cuts)] = counts.get(len(cuts), 0) + 1
    best = max(counts, key=lambda n: counts[n])  # dicts keep first-seen order: ties go left
    kept = [c for c in columns if len(c[1]) == best]
    if kept[0][0] != 0:
        kept.insert(0, (0, kept[0][1]))
    if kept[-1][0] != w - 1:
        kept.append((w - 1, kept[-1][1]))
    return [[[x, int(cuts[j])] for x, cuts in kept] for j in range(best)]


def cv_separate_lines(cv2, left, top, mask, cut_lines):
    h, w = mask.shape
    rgba = _np.zeros((h, w, 4), _np.uint8)
    rgba[:, :, 0] = mask * 255
    rgba[:, :, 3] = mask * 255
    lines = [[(0, 0), (w, 0)]] + [[(int(x), int(y)) for x, y in l] for l in cut_lines] + [[(0, h), (w, h)]]
    bands = []
    for a, b in zip(lines, lines[1:]):
        stencil = _np.zeros((h, w), _np.uint8)
        cv2.fillPoly(stencil, [_np.array(list(a) + list(reversed(b)), _np.int32)], 1)
        cut = rgba * stencil[:, :, None]
        alpha = cut[:, :, 3] > 0
        rows, cols = _np.where(alpha.any(axis=1))[0], _np.where(alpha.any(axis=0))[0]
        if len(rows):
            y1, y2, x1, x2 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        else:
            y1, y2, x1, x2 = 0, h, 0, w
        bands.append((left + x1, top + y1, x2 - x1, y2 - y1, cut[y1:y2, x1:x2]))
    return bands


def cv_generate_staff(cv2, lines):
    assert len(lines) == 5
    lines = sorted(lines, key=lambda n: n["top"])

    def points(n):
        pts = []
        for i in range(n["width"]):
            c = _run_centres(n["mask"][:, i].tolist())
            if len(c) == 1:
                pts.append((n["left"] + i, int(n["top"] + c[0])))
        return pts

    poly = points(lines[0]) + list(reversed(points(lines[-1])))
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    top, left = min(ys), min(xs)
    height, width = max(ys) - top, max(xs) - left
    mask = _np.zeros((height, width), _np.uint8)
    cv2.fillPoly(mask, [_np.array([(x - left, y - top) for x, y in poly], _np.int32)], 1)
    return {"class_name": "staff", "top": top, "left": left, "width": width, "height": height, "mask": mask}


def cv2_ops(spec):
    """MuNG Studio's own calls for the same rows, by row name."""
    cv2 = _cv2()
    page, region500, staff_region, staff_mask, cuts, lines = _inputs(spec)
    ops = {
        "otsu_binarize_region": lambda: cv_otsu_binarize_region(cv2, page),
        "detect_stafflines": lambda: cv_detect_stafflines(cv2, page),
        "detect_stafflines_staff": lambda: cv_detect_stafflines(cv2, staff_region),
        "compute_cut_lines": lambda: py_compute_cut_lines(staff_mask),
        "separate_lines": lambda: cv_separate_lines(cv2, 0, 0, staff_mask, cuts),
        "otsu_binarize_region_500": lambda: cv_otsu_binarize_region(cv2, region500),
    }
    if len(lines) == 5:
        ops["generate_staff_from_stafflines"] = lambda: cv_generate_staff(cv2, lines)
    return ops


def check_agreement(spec):
    """The two implementations must agree (they are bit-identical by design)."""
    try:
        import mstudio.extraction as ex

        cv2 = _cv2()
        _, region500, _, staff_mask, _, _ = _inputs(spec)
        same = bool((ex.otsu_binarize_region(region500) == cv_otsu_binarize_region(cv2, region500)).all())
        ours = [[[int(x), int(y)] for x, y in line] for line in ex.compute_cut_lines(staff_mask)]
        same = same and ours == py_compute_cut_lines(staff_mask)
        NOTES["cv2.agrees"] = "mstudio and OpenCV outputs identical: %s" % same
    except Exception as e:  # noqa: BLE001
        NOTES["cv2.agrees"] = "comparison failed: %s" % e


def bench_cv2_extraction(runs, spec):
    log("extraction (OpenCV, MuNG Studio's calls, native)")
    for name, fn in cv2_ops(spec).items():
        many = name in ("compute_cut_lines", "otsu_binarize_region_500")
        timed("cv2." + name, fn, max(runs, 20) if many else runs)
    check_agreement(spec)


def serve_extraction(spec_path):
    """`serve-extraction SPEC`: for each line `mstudio OP` or `cv2 OP` on stdin, runs that
    row's call once and answers one JSON line {"wall", "cpu"} (or {"error"}), so the caller
    can alternate native calls with its own. Prints {"ready": true, "agrees": ...} after
    the imports and one warm-up call of each."""
    global _np
    import numpy

    _np = numpy
    with open(spec_path) as f:
        spec = json.load(f)
    tables = {"mstudio": mstudio_ops(spec), "cv2": cv2_ops(spec)}
    for table in tables.values():
        for fn in table.values():
            fn()
    check_agreement(spec)
    import cv2

    ready = {"ready": True, "agrees": NOTES.get("cv2.agrees"), "opencv": cv2.__version__, "numpy": numpy.__version__}
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        impl, _, op = line.strip().partition(" ")
        fn = tables.get(impl, {}).get(op)
        if fn is None:
            print(json.dumps({"error": "unknown request %r" % line.strip()}), flush=True)
            continue
        c = time.process_time()
        t = time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)


def serve_validation(spec_path):
    """`serve-validation SPEC`: for each line `small`, `large` or `corpus` on stdin,
    validates that document (or every corpus document) once and answers one JSON line
    {"wall", "cpu", "failed"}, so the caller can alternate native rounds with its own.
    Prints {"ready": true} after the imports and a warm-up."""
    with open(spec_path) as f:
        spec = json.load(f)
    from mstudio.validation import validate

    read = lambda p: open(p, "rb").read()  # noqa: E731
    docs = {"small": [read(spec["small"])], "corpus": [read(p) for p in spec["corpus"]]}
    if spec.get("large"):
        docs["large"] = [read(spec["large"])]
    validate(docs["small"][0])
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        batch = docs.get(line.strip())
        if batch is None:
            print(json.dumps({"error": "unknown request %r" % line.strip()}), flush=True)
            continue
        failed = 0
        c = time.process_time()
        t = time.perf_counter()
        for doc in batch:
            try:
                validate(doc)
            except Exception:  # noqa: BLE001 - counted; the caller refuses the round
                failed += 1
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        print(json.dumps({"wall": wall, "cpu": cpu, "failed": failed}), flush=True)


def main():
    global _np
    if sys.argv[1] == "serve-validation":
        serve_validation(sys.argv[2])
        return
    if sys.argv[1] == "serve-extraction":
        serve_extraction(sys.argv[2])
        return
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    runs, tasks = int(spec["runs"]), set(spec["tasks"])
    global LOOP_CODE
    LOOP_CODE = spec.get("loop_code", "")
    import numpy

    _np = numpy
    versions = {"python": sys.version.split()[0], "numpy": numpy.__version__}
    guarded("turns", lambda: bench_turns(runs, tasks))
    if "validate" in tasks:
        guarded("validate", lambda: bench_validation(runs, spec["validate"]))
    if "extract" in tasks:
        guarded("extract", lambda: bench_mstudio_extraction(runs, spec["extract"]))
    if "cv2" in tasks:
        guarded("cv2", lambda: bench_cv2_extraction(runs, spec["extract"]))
        try:
            import cv2

            versions["opencv"] = cv2.__version__
        except ImportError:
            pass
    json.dump({"versions": versions, "samples": SAMPLES, "cpu": CPU, "notes": NOTES, "errors": ERRORS}, sys.stdout)


if __name__ == "__main__":
    main()
