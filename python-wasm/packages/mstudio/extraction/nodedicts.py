"""Validation and conversion of node dicts (the convention shared with the host glue).

A node dict has the keys::

    id, class_name, top, left, width, height, outlinks, inlinks,
    precedence_outlinks, precedence_inlinks, text_transcription, mask

``mask`` is ``None`` or a 2-D array of shape ``(height, width)`` holding only 0 and 1
(bool or integer dtype); it is normalised to ``uint8``. Other keys are kept as they are.

Every problem with the input is reported as :class:`mstudio.errors.InvalidInput`.
"""

import numpy as np

from mstudio.errors import InvalidInput

REQUIRED_KEYS = (
    "id", "class_name", "top", "left", "width", "height",
    "outlinks", "inlinks", "precedence_outlinks", "precedence_inlinks",
    "text_transcription", "mask",
)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _as_int(value, what):
    if not _is_int(value):
        raise InvalidInput("{0} must be an integer, got {1!r}".format(what, value))
    return int(value)


def _as_id_list(value, what):
    if not isinstance(value, (list, tuple)):
        raise InvalidInput("{0} must be a list of integers, got {1}".format(what, type(value).__name__))
    out = []
    for item in value:
        if not _is_int(item):
            raise InvalidInput("{0} must contain only integers, got {1!r}".format(what, item))
        out.append(int(item))
    return out


def normalize_mask(mask, height, width, what):
    """Return ``mask`` as a C-contiguous uint8 0/1 array of shape (height, width), or None."""
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray):
        raise InvalidInput("{0}: mask must be a numpy array or None, got {1}".format(
            what, type(mask).__name__))
    if mask.ndim != 2:
        raise InvalidInput("{0}: mask must be 2-D, got {1} dimensions".format(what, mask.ndim))
    if tuple(mask.shape) != (height, width):
        raise InvalidInput("{0}: mask shape {1}x{2} does not match height x width {3}x{4}".format(
            what, mask.shape[0], mask.shape[1], height, width))
    if mask.dtype == np.bool_:
        return np.ascontiguousarray(mask, dtype=np.uint8)
    if mask.dtype.kind not in "iu":
        raise InvalidInput("{0}: mask must have a bool or integer dtype, got {1}".format(what, mask.dtype))
    if mask.size and ((mask != 0) & (mask != 1)).any():
        raise InvalidInput("{0}: mask must be binary (only 0 and 1)".format(what))
    return np.ascontiguousarray(mask, dtype=np.uint8)


def normalize_node(node, index=None):
    """Validate one node dict and return a normalised shallow copy."""
    where = "node" if index is None else "node #{0}".format(index)
    if not isinstance(node, dict):
        raise InvalidInput("{0} must be a dict, got {1}".format(where, type(node).__name__))
    missing = [k for k in REQUIRED_KEYS if k not in node]
    if missing:
        raise InvalidInput("{0} is missing key(s): {1}".format(where, ", ".join(missing)))
    out = dict(node)
    out["id"] = _as_int(node["id"], where + " id")
    where = "node {0}".format(out["id"])
    if not isinstance(node["class_name"], str):
        raise InvalidInput("{0}: class_name must be a string".format(where))
    for key in ("top", "left", "width", "height"):
        out[key] = _as_int(node[key], "{0}: {1}".format(where, key))
    if out["width"] < 0 or out["height"] < 0:
        raise InvalidInput("{0}: width and height must not be negative".format(where))
    for key in ("outlinks", "inlinks", "precedence_outlinks", "precedence_inlinks"):
        out[key] = _as_id_list(node[key], "{0}: {1}".format(where, key))
    tt = node["text_transcription"]
    if tt is not None and not isinstance(tt, str):
        raise InvalidInput("{0}: text_transcription must be a string or None".format(where))
    out["mask"] = normalize_mask(node["mask"], out["height"], out["width"], where)
    return out


def normalize_nodes(nodes):
    """Validate a list of node dicts; ids must be unique. Returns normalised copies."""
    if not isinstance(nodes, (list, tuple)):
        raise InvalidInput("nodes must be a list of dicts, got {0}".format(type(nodes).__name__))
    out = [normalize_node(n, i) for i, n in enumerate(nodes)]
    seen = set()
    for n in out:
        if n["id"] in seen:
            raise InvalidInput("duplicate node id {0}".format(n["id"]))
        seen.add(n["id"])
    return out


def to_mung_node(node, class_name=None):
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


def new_node_dict(id_, class_name, top, left, width, height, mask,
                  outlinks=None, inlinks=None):
    """A fresh node dict in the shared convention (no precedence links, no text)."""
    return {
        "id": int(id_), "class_name": class_name,
        "top": int(top), "left": int(left), "width": int(width), "height": int(height),
        "outlinks": list(outlinks or []), "inlinks": list(inlinks or []),
        "precedence_outlinks": [], "precedence_inlinks": [],
        "text_transcription": None,
        "mask": mask,
    }
