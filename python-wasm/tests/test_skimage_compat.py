"""Native test: the sandbox's ``skimage`` stand-in against real scikit-image.

Runs with the native venv that has scikit-image installed::

    /tmp/nativevenv/bin/python python-wasm/tests/test_skimage_compat.py      # exit 0 = OK
    /tmp/nativevenv/bin/python -m pytest python-wasm/tests/test_skimage_compat.py

The stand-in (``python-wasm/packages/skimage``) is loaded from its files under private
module names, so that the real ``skimage`` can be imported next to it.
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGES = os.path.normpath(os.path.join(HERE, "..", "packages"))
STANDIN = os.path.join(PACKAGES, "skimage")


def _load(name, filename):
    spec = importlib.util.spec_from_file_location(name, os.path.join(STANDIN, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _real_skimage_measure():
    """Import the installed scikit-image even if the stand-in is on sys.path."""
    saved_path = list(sys.path)
    saved_mods = dict((k, v) for k, v in sys.modules.items()
                      if k == "skimage" or k.startswith("skimage."))
    try:
        sys.path[:] = [p for p in sys.path
                       if os.path.normpath(os.path.abspath(p or os.curdir)) != PACKAGES]
        for k in saved_mods:
            del sys.modules[k]
        import skimage.measure as real
        if os.path.normpath(os.path.dirname(os.path.dirname(real.__file__))) == PACKAGES:
            raise RuntimeError("could not import the real scikit-image")
        return real
    finally:
        sys.path[:] = saved_path


REAL = _real_skimage_measure()
MEASURE = _load("_standin_skimage_measure", "measure.py")
FILTERS = _load("_standin_skimage_filters", "filters.py")
SEGMENTATION = _load("_standin_skimage_segmentation", "segmentation.py")


def _same(image, **kwargs):
    expected = REAL.label(image, **kwargs)
    got = MEASURE.label(image, **kwargs)
    if kwargs.get("return_num"):
        (expected, en), (got, gn) = expected, got
        assert isinstance(gn, int) and gn == en, (gn, en)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype, image.dtype, kwargs)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected), (image, kwargs, got, expected)


def _images(rng):
    """Random binary images of many sizes, incl. 1x1, empty (0 pixels), all-zero and
    all-one."""
    shapes = [(1, 1), (0, 0), (0, 5), (5, 0), (1, 7), (7, 1), (2, 2), (3, 3), (5, 8),
              (16, 16), (31, 17), (64, 3), (3, 64), (100, 100)]
    for shape in shapes:
        yield np.zeros(shape, dtype=np.uint8)
        yield np.ones(shape, dtype=np.uint8)
        for density in (0.05, 0.3, 0.5, 0.7, 0.95):
            yield (rng.random(shape) < density).astype(np.uint8)
    for _ in range(300):
        shape = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
        yield (rng.random(shape) < rng.random()).astype(np.uint8)


def test_binary_uint8_default():
    rng = np.random.default_rng(12345)
    for img in _images(rng):
        _same(img)
        _same(img, background=0)


def test_binary_dtypes_and_options():
    rng = np.random.default_rng(777)
    for img in _images(rng):
        for dtype in (np.bool_, np.int32, np.int64, np.uint16, np.float64):
            a = img.astype(dtype)
            _same(a)
            _same(a, connectivity=1)
            _same(a, connectivity=2, return_num=True)
            _same(a, background=1)
            _same(a, background=1, return_num=True, connectivity=1)


def test_multivalued_integer_images():
    rng = np.random.default_rng(4242)
    for _ in range(300):
        shape = (int(rng.integers(1, 30)), int(rng.integers(1, 30)))
        img = rng.integers(-1, 4, size=shape).astype(np.int64)
        _same(img)
        _same(img, connectivity=1)
        _same(img, background=-1, return_num=True)
        _same(img, background=2)
        _same(img.astype(np.float64) + 0.5)      # floats are truncated first


def test_other_dimensions():
    rng = np.random.default_rng(99)
    for _ in range(50):
        _same((rng.random(int(rng.integers(1, 50))) < 0.5).astype(np.int64))
        img3 = (rng.random((4, 5, 6)) < 0.4).astype(np.int64)
        _same(img3)
        _same(img3, connectivity=1)
        _same(img3, connectivity=2)
        _same(img3.astype(bool), connectivity=3, return_num=True)


def test_errors_match():
    img = np.zeros((3, 3), dtype=np.int64)
    for kwargs in ({"connectivity": 0}, {"connectivity": 3}):
        for a in (img, img.astype(bool)):
            try:
                REAL.label(a, **kwargs)
            except ValueError as exc:
                expected = str(exc)
            try:
                MEASURE.label(a, **kwargs)
            except ValueError as exc:
                assert str(exc) == expected
            else:
                raise AssertionError("no ValueError for %r" % (kwargs,))
    for fn in (REAL.label, MEASURE.label):
        try:
            fn(np.array(5))
        except NotImplementedError:
            pass
        else:
            raise AssertionError("0-d image accepted")


def test_stubs_raise():
    for fn in (FILTERS.gaussian, SEGMENTATION.watershed):
        try:
            fn(np.zeros((3, 3)))
        except NotImplementedError as exc:
            assert "not available" in str(exc)
        else:
            raise AssertionError("stub did not raise")


def test_mung_imports_with_standin():
    """``import mung.node`` / ``mung.utils`` / ``mung.stafflines`` work with the
    stand-in first on the path, and mung's connected components use it."""
    env = dict(os.environ)
    extra = [PACKAGES]
    pydev = "/tmp/pydev"
    if os.path.isdir(os.path.join(pydev, "mung")):
        extra.insert(0, pydev)
    env["PYTHONPATH"] = os.pathsep.join(extra + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    code = ("import skimage, mung.node, mung.stafflines, mung.utils, numpy as np\n"
            "assert skimage.__file__.startswith(%r), skimage.__file__\n"
            "n, labels, boxes = mung.utils.compute_connected_components("
            "np.array([[1, 0, 0], [0, 0, 1], [0, 1, 1]], dtype=np.uint8))\n"
            "assert n == 2 and labels.dtype == np.int64, (n, labels.dtype)\n"
            "print('ok')\n" % STANDIN)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def main():
    tests = [(name, fn) for name, fn in sorted(globals().items())
             if name.startswith("test_") and callable(fn)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
        except Exception as exc:          # report every test, then fail
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(exc).__name__, exc))
        else:
            print("ok   %s" % name)
    print("%d of %d tests failed" % (failed, len(tests)) if failed else
          "all %d tests passed" % len(tests))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
