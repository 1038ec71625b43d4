"""MuNG Studio's validation (``MungValidationApi.runValidation``), product form.

Public API:

* :func:`validate` ``(xml: str | bytes) -> list[dict]`` -- the issue list, each issue
  ``{"code": int, "message": str, "nodeId": int, "resolution": None | {"operations":
  [{"updateNodeId": int, "newClassName": str}]}, "fingerprint": None | str}`` (keys in
  that order), exactly as MuNG Studio reports them (the project's validation spec,
  kept outside this repository, including its required deviations D1-D3).
* :func:`fix` ``(xml: str | bytes) -> (bytes, int)`` -- the document with every
  resolution (class rename) applied, and the number of renames.

Errors: :class:`mstudio.errors.InvalidInput` (normally its subclass
:class:`mstudio.errors.InvalidDocument`) for a bad document or one on which MuNG Studio's
validation fails as a whole; :class:`mstudio.errors.InternalError` for anything else.
"""

from __future__ import annotations

import gc

from mstudio.errors import InternalError, MStudioError

__all__ = ["validate", "fix"]


def _read(xml):
    from mstudio.mungxml import read_mung
    from .rules import SINGLE_PIXEL_CLASSES
    return read_mung(xml, masks=SINGLE_PIXEL_CLASSES)


def validate(xml: str | bytes) -> list[dict]:
    """Validate one MuNG document; returns the list of issues (see module doc)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()          # the run allocates ~10^5 acyclic objects: skip the GC passes
    try:
        from .rules import run_rules
        return run_rules(_read(xml))
    except (MStudioError, MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise InternalError(
            f"validation failed unexpectedly: {type(exc).__name__}: {exc}") from exc
    finally:
        if gc_was_enabled:
            gc.enable()


def fix(xml: str | bytes) -> tuple[bytes, int]:
    """Apply every issue resolution (class renames) to the document, re-validating until
    nothing fixable is left (at most 10 rounds). Returns ``(document bytes, number of
    renames)``. Only the text of the affected ``<ClassName>`` elements changes."""
    try:
        from .fixer import fix_document
        return fix_document(xml)
    except (MStudioError, MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise InternalError(f"fixing failed unexpectedly: {type(exc).__name__}: {exc}") from exc
