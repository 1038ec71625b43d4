"""Typed errors raised by mstudio.

Classification used by the host glue:

* :class:`InvalidInput` (and its subclass :class:`InvalidDocument`): the caller's input
  is bad -- wrong type, a malformed or unreadable MuNG document, or a document on which
  MuNG Studio's own code fails (the whole call fails, no partial result).
* :class:`ExtractionError`: a valid input for which an extraction operation has no result.
* :class:`InternalError`: anything else, i.e. a bug in mstudio (the original exception is
  chained as ``__cause__``).
"""

from __future__ import annotations


class MStudioError(Exception):
    """Base class of every error mstudio raises on purpose."""


class InvalidInput(MStudioError):
    """The caller passed malformed input (wrong type, dtype, shape, size or values)."""


class InvalidDocument(InvalidInput):
    """A MuNG XML document that cannot be read or validated.

    ``str(err)`` says where: ``node id 12 (line 345): Top is not an integer: '3.0'``.
    The parts are also available as attributes: ``detail`` (the message without the
    location), ``node_id`` (int or None), ``line`` (int or None; 1-based line of the
    node element, or of the syntax error).
    """

    def __init__(self, detail: str, node_id: int | None = None, line: int | None = None,
                 where: str | None = None) -> None:
        self.detail = detail
        self.node_id = node_id
        self.line = line
        if where is None:
            parts = []
            if node_id is not None:
                parts.append(f"node id {node_id}")
            if line is not None:
                parts.append(f"(line {line})" if parts else f"line {line}")
            where = " ".join(parts)
        self.where = where
        MStudioError.__init__(self, f"{where}: {detail}" if where else detail)


class ExtractionError(MStudioError):
    """An image/mask extraction operation cannot produce a result for valid input
    (e.g. no column with two or more runs in compute_cut_lines, not exactly five
    stafflines, an empty point list, a zero-sized staff box)."""


class InternalError(MStudioError):
    """An unexpected failure inside mstudio (a bug); ``__cause__`` holds the original."""
