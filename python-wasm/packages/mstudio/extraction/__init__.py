"""Image and mask operations of MuNG Studio (the project's extraction spec, §2 and
§3.1-§3.5), bit-identical to OpenCV 4.10 (IPP off), using numpy + scipy only.

Submodules:

* ``polygon``    -- ``fill_poly`` (OpenCV ``fillPoly``, LINE_8), ``clip_line``
* ``runs``       -- ``column_runs``, ``run_centres`` (column "pegs")
* ``primitives`` -- lightness, fma32, closing, Gaussian local mean, bilateral, Otsu
* ``operations`` -- ``otsu_binarize_region``, ``detect_stafflines``,
  ``compute_cut_lines``, ``separate_lines``, ``generate_staff_from_stafflines``
* ``staff``      -- ``generate_staffspaces``, ``snap_nodes_to_staves`` (§3.6, §3.7)
* ``nodedicts``  -- validation and conversion of the node dicts the staff operations take

The public names are resolved lazily (PEP 562), so importing one submodule
(e.g. ``mstudio.extraction.polygon``) does not load scipy.
"""

_EXPORTS = {
    "fill_poly": "polygon",
    "clip_line": "polygon",
    "column_runs": "runs",
    "run_centres": "runs",
    "lightness": "primitives",
    "fma32": "primitives",
    "horizontal_closing": "primitives",
    "gaussian_local_mean": "primitives",
    "bilateral_filter": "primitives",
    "otsu_threshold": "primitives",
    "otsu_binarize_region": "operations",
    "detect_stafflines": "operations",
    "compute_cut_lines": "operations",
    "separate_lines": "operations",
    "generate_staff_from_stafflines": "operations",
    "generate_staffspaces": "staff",
    "snap_nodes_to_staves": "staff",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module("." + mod, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)

