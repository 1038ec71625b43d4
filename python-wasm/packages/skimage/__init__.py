"""Minimal stand-in for scikit-image (not available in the sandbox).

Only what the pinned ``mung==1.2.1`` imports at module level is provided:

* :func:`skimage.measure.label` -- a faithful re-implementation on top of
  ``scipy.ndimage.label`` (same labels, same numbering, same dtype as scikit-image 0.26 on
  64-bit platforms);
* :func:`skimage.filters.gaussian` and :func:`skimage.segmentation.watershed` -- stubs
  that raise :class:`NotImplementedError` when called, so that ``import mung.stafflines``
  works.

Submodules are imported lazily, like scikit-image does.
"""

__version__ = "0.0+mungruntime.stub"

__all__ = ["measure", "filters", "segmentation"]


def __getattr__(name):
    if name in __all__:
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
