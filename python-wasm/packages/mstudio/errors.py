"""Typed errors raised by mstudio."""


class MStudioError(Exception):
    """Base class of every error mstudio raises on purpose."""


class InvalidInput(MStudioError):
    """The caller passed malformed input (wrong type, dtype, shape, size or values)."""


class ExtractionError(MStudioError):
    """An image/mask extraction operation cannot produce a result for valid input
    (e.g. no column with two or more runs in compute_cut_lines, not exactly five
    stafflines, an empty point list, a zero-sized staff box)."""
