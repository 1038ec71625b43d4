"""Validation and conversion of node dicts (the convention shared with the host glue).

A node dict has the keys::

    id, class_name, top, left, width, height, outlinks, inlinks,
    precedence_outlinks, precedence_inlinks, text_transcription, mask

``mask`` is ``None`` or a 2-D array of shape ``(height, width)`` holding only 0 and 1
(bool or integer dtype); it is normalised to ``uint8``. Other keys are kept as they are.

Every problem with the input is reported as :class:`mstudio.errors.InvalidInput`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mstudio.errors import InvalidInput

if TYPE_CHECKING:
    from mung.node import Node

REQUIRED_KEYS = (
    "id", "class_name", "top", "left", "width", "height",
    "outlinks", "inlinks", "precedence_outlinks", "precedence_inlinks",
    "text_transcription", "mask",
)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _as_int(value, what):
    if not _is_int(value):
        raise InvalidInput(f"{what} must be an integer, got {value!r}")
    return int(value)


def _as_id_list(value, what):
    if not isinstance(value, (list, tuple)):
        raise InvalidInput(f"{what} must be a list of integers, got {type(value).__name__}")
    out = []
    for item in value:
        if not _is_int(item):
            raise InvalidInput(f"{what} must contain only integers, got {item!r}")
        out.append(int(item))
    return out


def normalize_mask(mask: np.ndarray | None, height: int, width: int,
                   what: str) -> np.ndarray | None:
    """Return ``mask`` as a C-contiguous uint8 0/1 array of shape (height, width), or None."""
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray):
        raise InvalidInput(
            f"{what}: mask must be a numpy array or None, got {type(mask).__name__}")
    if mask.ndim != 2:
        raise InvalidInput(f"{what}: mask must be 2-D, got {mask.ndim} dimensions")
    if tuple(mask.shape) != (height, width):
        raise InvalidInput(f"{what}: mask shape {mask.shape[0]}x{mask.shape[1]} does not match "
                           f"height x width {height}x{width}")
    if mask.dtype == np.bool_:
        return np.ascontiguousarray(mask, dtype=np.uint8)
    if mask.dtype.kind not in "iu":
        raise InvalidInput(f"{what}: mask must have a bool or integer dtype, got {mask.dtype}")
    if mask.size and ((mask != 0) & (mask != 1)).any():
        raise InvalidInput(f"{what}: mask must be binary (only 0 and 1)")
    return np.ascontiguousarray(mask, dtype=np.uint8)


def normalize_node(node: dict, index: int | None = None) -> dict:
    """Validate one node dict and return a normalised shallow copy."""
    where = "node" if index is None else f"node #{index}"
    if not isinstance(node, dict):
        raise InvalidInput(f"{where} must be a dict, got {type(node).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in node]
    if missing:
        raise InvalidInput(f"{where} is missing key(s): {', '.join(missing)}")
    out = dict(node)
    out["id"] = _as_int(node["id"], where + " id")
    where = f"node {out['id']}"
    if not isinstance(node["class_name"], str):
        raise InvalidInput(f"{where}: class_name must be a string")
    for key in ("top", "left", "width", "height"):
        out[key] = _as_int(node[key], f"{where}: {key}")
    if out["width"] < 0 or out["height"] < 0:
        raise InvalidInput(f"{where}: width and height must not be negative")
    for key in ("outlinks", "inlinks", "precedence_outlinks", "precedence_inlinks"):
        out[key] = _as_id_list(node[key], f"{where}: {key}")
    tt = node["text_transcription"]
    if tt is not None and not isinstance(tt, str):
        raise InvalidInput(f"{where}: text_transcription must be a string or None")
    out["mask"] = normalize_mask(node["mask"], out["height"], out["width"], where)
    return out


def normalize_nodes(nodes: list[dict]) -> list[dict]:
    """Validate a list of node dicts; ids must be unique. Returns normalised copies."""
    if not isinstance(nodes, (list, tuple)):
        raise InvalidInput(f"nodes must be a list of dicts, got {type(nodes).__name__}")
    out = [normalize_node(n, i) for i, n in enumerate(nodes)]
    seen = set()
    for n in out:
        if n["id"] in seen:
            raise InvalidInput(f"duplicate node id {n['id']}")
        seen.add(n["id"])
    return out


def to_mung_node(node: dict, class_name: str | None = None) -> Node:
    """Build a ``mung.node.Node`` from a normalised node dict (links are copied)."""
    from mung.node import Node

    data = {
        "precedence_outlinks": list(node["precedence_outlinks"]),
        "precedence_inlinks": list(node["precedence_inlinks"]),
        "text_transcription": node["text_transcription"],
    }
    return Node(node["id"], node["class_name"] if class_name is None else class_name,
                node["top"], node["left"], node["width"], node["height"],
                outlinks=list(node["outlinks"]), inlinks=list(node["inlinks"]),
                mask=node["mask"], data=data)


def new_node_dict(id_: int, class_name: str, top: int, left: int, width: int, height: int,
                  mask: np.ndarray | None, outlinks: list[int] | None = None,
                  inlinks: list[int] | None = None) -> dict:
    """A fresh node dict in the shared convention (no precedence links, no text)."""
    return {
        "id": int(id_), "class_name": class_name,
        "top": int(top), "left": int(left), "width": int(width), "height": int(height),
        "outlinks": list(outlinks or []), "inlinks": list(inlinks or []),
        "precedence_outlinks": [], "precedence_inlinks": [],
        "text_transcription": None,
        "mask": mask,
    }
