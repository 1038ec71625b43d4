"""Explicit emulation of CPython 3.11/3.12 (64-bit) ``set`` iteration order (the project's
validation spec, §4.7).

MuNG Studio keeps the grammar edges in a Python ``set`` of ``(int, int)`` tuples, so the
order of link issues and of the id lists in fingerprints is the set's iteration order.
That order is hash based: it is deterministic on 64-bit CPython, but different on a
32-bit interpreter (our wasm32 guest has a 32-bit ``hash()``). We therefore never use a
real ``set`` to order anything; the order is computed here with explicit 64-bit unsigned
arithmetic on Python ints (and numpy ``uint64`` arrays, whose wrap-around is the same on
every platform), so native and guest give the same result.

Public functions:

* :func:`int_hash` -- CPython's ``hash(int)`` on a 64-bit build, as an unsigned 64-bit int.
* :func:`pair_hash` -- CPython's ``hash((a, b))`` (xxHash-based tuple hash), unsigned.
* :func:`set_order` -- the iteration order of a set built by adding distinct keys in a
  given order, given their hashes.
* :func:`ordered_pairs` -- dedup a list of ``(a, b)`` pairs (first occurrence kept, as
  ``set.add`` does) and return them in emulated set iteration order.
"""

from __future__ import annotations

__all__ = ["int_hash", "pair_hash", "set_order", "ordered_pairs"]

_MASK64 = (1 << 64) - 1
_MODULUS = (1 << 61) - 1          # _PyHASH_MODULUS on 64-bit builds
_P1 = 11400714785074694791        # _PyHASH_XXPRIME_1
_P2 = 14029467366897019727        # _PyHASH_XXPRIME_2
_P5 = 2870177450012600261         # _PyHASH_XXPRIME_5
_TAIL2 = 2 ^ _P5 ^ 3527539        # len ^ (PRIME_5 ^ 3527539) for 2-tuples
_MINSIZE = 8                      # PySet_MINSIZE
_LINEAR_PROBES = 9
_PERTURB_SHIFT = 5


def int_hash(v: int | float) -> int:
    """``hash(v)`` of CPython on a 64-bit build, for an int (or an integral float, which
    hashes like the equal int), returned modulo 2**64 (unsigned)."""
    if type(v) is not int:
        if isinstance(v, float):
            if not v.is_integer():
                raise TypeError(f"only integral values are supported, got {v!r}")
            v = int(v)
        elif isinstance(v, int):       # bool and int subclasses hash like int
            v = int(v)
        else:
            raise TypeError(f"only integral values are supported, got {v!r}")
    if v >= 0:
        return v % _MODULUS
    h = -((-v) % _MODULUS)
    if h == -1:
        h = -2
    return h & _MASK64


def _rotl31(x):
    return ((x << 31) | (x >> 33)) & _MASK64


def pair_hash(a: int | float, b: int | float) -> int:
    """``hash((a, b))`` of CPython >= 3.8 on a 64-bit build, unsigned 64-bit."""
    acc = _P5
    for lane in (int_hash(a), int_hash(b)):
        acc = (acc + lane * _P2) & _MASK64
        acc = _rotl31(acc)
        acc = (acc * _P1) & _MASK64
    acc = (acc + _TAIL2) & _MASK64
    if acc == _MASK64:
        return 1546275796
    return acc


def _pair_hashes(pairs):
    """Hashes of many pairs; vectorised with numpy uint64 when all lanes are small
    non-negative ints (the normal case), else computed one by one."""
    n = len(pairs)
    if n < 16:
        return [pair_hash(a, b) for a, b in pairs]
    left = [p[0] for p in pairs]
    right = [p[1] for p in pairs]
    try:
        simple = (min(left) >= 0 and min(right) >= 0 and max(left) < _MODULUS
                  and max(right) < _MODULUS
                  and all(type(x) is int for x in left) and all(type(x) is int for x in right))
    except TypeError:
        simple = False
    if not simple:
        return [pair_hash(a, b) for a, b in pairs]
    import numpy as np
    p1 = np.uint64(_P1)
    p2 = np.uint64(_P2)
    s31 = np.uint64(31)
    s33 = np.uint64(33)
    acc = np.full(n, _P5, dtype=np.uint64)
    for lanes in (left, right):
        acc += np.array(lanes, dtype=np.uint64) * p2
        acc = (acc << s31) | (acc >> s33)
        acc *= p1
    acc += np.uint64(_TAIL2)
    out = acc.tolist()
    if _MASK64 in out:                 # practically never
        out = [1546275796 if h == _MASK64 else h for h in out]
    return out


def _probe(table, mask, h, k):
    """Put key number ``k`` (hash ``h``) in the first free slot of CPython's probe
    sequence (``set_add_entry`` / ``set_insert_clean``)."""
    i = h & mask
    perturb = h
    while True:
        if table[i] < 0:
            table[i] = k
            return
        if i + _LINEAR_PROBES <= mask:
            for j in range(i + 1, i + _LINEAR_PROBES + 1):
                if table[j] < 0:
                    table[j] = k
                    return
        perturb >>= _PERTURB_SHIFT
        i = (i * 5 + 1 + perturb) & mask


def set_order(hashes: list[int]) -> list[int]:
    """Iteration order (a list of indices into ``hashes``) of a CPython set into which
    distinct keys with these hashes (unsigned 64-bit ints) were added in list order."""
    mask = _MINSIZE - 1
    table = [-1] * _MINSIZE
    used = 0
    for k, h in enumerate(hashes):
        i = h & mask
        if table[i] < 0:
            table[i] = k
        else:
            _probe(table, mask, h, k)
        used += 1
        if used * 5 >= mask * 3:
            target = used * 2 if used > 50000 else used * 4
            size = _MINSIZE
            while size <= target:
                size <<= 1
            old = table
            mask = size - 1
            table = [-1] * size
            for k2 in old:
                if k2 >= 0:
                    h2 = hashes[k2]
                    i = h2 & mask
                    if table[i] < 0:
                        table[i] = k2
                    else:
                        _probe(table, mask, h2, k2)
    return [k for k in table if k >= 0]


def ordered_pairs(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The distinct pairs of ``pairs`` in the iteration order that ``set(pairs)`` has on
    64-bit CPython 3.11/3.12 (a pair equal to an earlier one is skipped; the earlier
    object is kept, as ``set.add`` does)."""
    uniq = list(dict.fromkeys(pairs))
    if len(uniq) < 2:
        return uniq
    order = set_order(_pair_hashes(uniq))
    return [uniq[k] for k in order]
