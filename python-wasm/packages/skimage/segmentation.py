"""Stub of ``skimage.segmentation``: only importable. scikit-image is not available in
the sandbox; ``mung.stafflines`` imports ``watershed`` at module level but mung-runtime
never calls it."""

__all__ = ["watershed"]


def watershed(*args, **kwargs):
    """Not available: raises NotImplementedError."""
    raise NotImplementedError(
        "skimage.segmentation.watershed is not available in mung-runtime (scikit-image is "
        "not installed; this is an import-only stand-in)")
