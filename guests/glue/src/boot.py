try:
    import sys as _mrt_sys, _host as _mrt_host
    _mrt_src = _mrt_host.call(b"\x02")
    _mrt_mod = _mrt_sys.modules.get("_mung_runtime")
    if getattr(_mrt_mod, "__source__", None) != _mrt_src:
        _mrt_mod = type(_mrt_sys)("_mung_runtime")
        _mrt_mod.__source__ = _mrt_src
        _mrt_sys.modules["_mung_runtime"] = _mrt_mod
        exec(compile(_mrt_src, "<mung-runtime prelude>", "exec"), _mrt_mod.__dict__)
    import _mung_runtime
    _mung_runtime.new_instance()
    _ = _mrt_host.call(b"\x01ok")
except BaseException:
    import traceback as _mrt_tb
    _ = _mrt_host.call(b"\x01" + _mrt_tb.format_exc().encode("utf-8", "replace"))
finally:
    for _mrt_name in ("_mrt_sys", "_mrt_host", "_mrt_src", "_mrt_mod", "_mrt_tb", "_"):
        globals().pop(_mrt_name, None)
    del _mrt_name
