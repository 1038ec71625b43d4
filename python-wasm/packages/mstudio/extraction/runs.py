"""Column runs ("pegs") of MuNG Studio's mask operations (the project's extraction
spec, §2.8).

A run is a maximal interval ``[u, d)`` of true values in a 1-D boolean column;
its centre is ``(u + d) / 2`` (a multiple of 0.5, exact in float64).  A run
reaching the bottom has ``d = len(col)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInput

__all__ = ["column_runs", "run_centres", "run_counts", "single_run_centres"]


def _as_bool_1d(col):
    arr = np.asarray(col)
    if arr.ndim != 1:
        raise InvalidInput(f"column must be 1-D, got shape {arr.shape!r}")
    if arr.dtype != np.bool_:
        arr = arr != 0
    return arr


def column_runs(col: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of true values in ``col`` as a list of ``(u, d)`` Python-int
    pairs (half-open ``[u, d)``), top to bottom."""
    arr = _as_bool_1d(col)
    n = arr.shape[0]
    if n == 0:
        return []
    padded = np.zeros(n + 2, dtype=np.int8)
    padded[1:-1] = arr
    change = np.flatnonzero(np.diff(padded))
    return [(int(change[i]), int(change[i + 1])) for i in range(0, change.shape[0], 2)]


def run_centres(col: np.ndarray) -> list[float]:
    """Centres ``(u + d) / 2`` (Python floats) of the runs of ``col``."""
    return [(u + d) / 2.0 for (u, d) in column_runs(col)]


def run_counts(mask: np.ndarray) -> np.ndarray:
    """Number of runs in every column of a 2-D mask, as an int64 array of length W."""
    m = np.asarray(mask) != 0
    if m.ndim != 2:
        raise InvalidInput(f"mask must be 2-D, got shape {m.shape!r}")
    if m.shape[0] == 0:
        return np.zeros(m.shape[1], dtype=np.int64)
    starts = m.copy()
    starts[1:] &= ~m[:-1]
    return starts.sum(axis=0, dtype=np.int64)


def single_run_centres(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a 2-D mask, return ``(cols, centres)``: the int64 indices of the columns
    that hold exactly one run and that run's centre (float64, ``(u + d) / 2``)."""
    m = np.asarray(mask) != 0
    if m.ndim != 2:
        raise InvalidInput(f"mask must be 2-D, got shape {m.shape!r}")
    counts = run_counts(m)
    cols = np.flatnonzero(counts == 1).astype(np.int64)
    if cols.size == 0:
        return cols, np.zeros(0, dtype=np.float64)
    sub = m[:, cols]
    u = np.argmax(sub, axis=0).astype(np.int64)
    d = u + sub.sum(axis=0, dtype=np.int64)
    return cols, (u + d).astype(np.float64) / 2.0
