"""Stub of ``skimage.filters``: only importable. scikit-image is not available in the
sandbox; ``mung.stafflines`` imports ``gaussian`` at module level but mung-runtime never
calls it."""

__all__ = ["gaussian"]


def gaussian(*args, **kwargs):
    """Not available: raises NotImplementedError."""
    raise NotImplementedError(
        "skimage.filters.gaussian is not available in mung-runtime (scikit-image is not "
        "installed; this is an import-only stand-in)")
