"""The validation rules of MuNG Studio (the project's validation spec, §3 and §4), product
form.

:func:`run_rules` takes a :class:`mstudio.mungxml.MungDocument` and returns the issue
list. It can also report, for every issue with a resolution, which node *element*
(document-order index) the rename applies to -- :func:`mstudio.validation.fix` uses it.

Nothing here depends on ``set``/``dict``-of-hash iteration order or on the platform's
integer width: dicts are only used for lookups and for insertion-ordered grouping, the
grammar edge order is emulated explicitly (:mod:`.edgeorder`), and numpy sums use
explicit dtypes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mstudio.errors import InvalidDocument

from . import edgeorder
from .grammar import ALPHABET, PRECEDENCE, SYNTAX

if TYPE_CHECKING:
    from mstudio.mungxml import MungDocument

__all__ = ["run_rules", "SINGLE_PIXEL_CLASSES"]

RED = "\U0001F534"
GREEN = "\U0001F7E2"
WARNING = "\u26A0\uFE0F"
SYNTAX_BADGE = "[" + RED + " syntax]"
PRECEDENCE_BADGE = "[" + GREEN + " precedence]"

# §3.1 -- (code, old, new or None), in pass order
DEPRECATIONS = []
for _code, _pairs in (
        (1001, "noteheadFull>noteheadBlack"),
        (1002, "noteheadFullSmall>noteheadBlackSmall"),
        (1003, "restBreve>restDoubleWhole restSemibreve>restWhole restMinim>restHalf "
               "restCrotchet>restQuarter restQuaver>rest8th restSemiquaver>rest16th "
               "restDemisemiquaver>rest32nd"),
        (1004, "multiMeasureRest>restHBar"),
        (1005, "dynamicLetterF>dynamicForte dynamicLetterM>dynamicMezzo "
               "dynamicLetterN>dynamicNiente dynamicLetterP>dynamicPiano "
               "dynamicLetterR>dynamicRinforzando dynamicLetterS>dynamicSforzando "
               "dynamicLetterZ>dynamicZ"),
        (1006, "tuple>tuplet tupleBracket>tupletBracket"),
        (1007, "singleNoteTremolo> tremoloMark>"),
        (1008, "flag>"),
        (1009, "fermata>"),
        (1010, "arpegio>arpeggiato"),
        (1011, "ledgerLine>legerLine"),
        (1012, "sharp>accidentalSharp flat>accidentalFlat natural>accidentalNatural "
               "double_sharp>accidentalDoubleSharp double_flat>accidentalDoubleFlat"),
        (1013, " ".join(f"numeral{_d}>" for _d in range(10))),
        (1014, "timeSigDivider>timeSigSlash"),
        (1015, "barline>barlineSingle"),
        (1016, "articulationAccent>articAccentAbove articulationMarcatoAbove>articMarcatoAbove "
               "articulationMarcatoBelow>articMarcatoBelow "
               "articulationStaccato>articStaccatoBelow articulationTenuto>articTenutoBelow"),
        (1017, "repeatOneBar>repeat1Bar"),
        (1018, "graceNoteAcciaccatura>graceNoteSlashStemUp")):
    for _pair in _pairs.split():
        _old, _new = _pair.split(">")
        DEPRECATIONS.append((_code, _old, _new or None))
_DEPRECATION_INDEX = dict((old, k) for k, (_, old, _) in enumerate(DEPRECATIONS))

# §3.2
NOTEHEADS = frozenset("noteheadBlack noteheadHalf noteheadWhole noteheadBlackSmall "
                      "noteheadHalfSmall noteheadWholeSmall".split())
ORIENTATION_FAMILIES = []
for _code, _up, _down, _roots in (
        (2001, "Up", "Down", "flag8th flag16th flag32nd flag64th flag128th flag256th "
                             "flag512th flag1024th"),
        (2002, "Above", "Below", "articAccent articMarcato articStaccato articTenuto "
                                 "articStaccatissimo"),
        (2003, "Above", "Below", "fermata"),
        (2004, "Up", "Down", "graceNoteSlashStem")):
    _kids = frozenset([r + _up for r in _roots.split()] + [r + _down for r in _roots.split()])
    ORIENTATION_FAMILIES.append((_code, _up, _down, _kids))

# §3.3 -- (class, code, axis of the sums: 1 = per row, 0 = per column)
SINGLE_PIXEL = (("barlineSingle", 3001, 1), ("barlineHeavy", 3001, 1),
                ("staffLine", 3002, 0), ("stem", 3003, 1))
SINGLE_PIXEL_CLASSES = frozenset(c for c, _, _ in SINGLE_PIXEL)

# §3.4
TRANSCRIPTION_CLASSES = ("restText verseNumber tempoText tempoRitardando tempoAccelerando "
                         "tempoATempo measureNumber pageNumber dynamicsText dynamicCrescendo "
                         "dynamicDiminuendo voltaText repeatText").split()

# §3.5
SEQUENCE_CONTAINERS = (
    ("timeSignature", frozenset([f"timeSig{d}" for d in range(10)] + [
        "timeSigCommon", "timeSigCutCommon", "timeSigSlash", "timeSigFractionalSlash",
        "timeSigPlus", "timeSigEquals"])),
    ("dynamicsText", frozenset("dynamicPiano dynamicMezzo dynamicForte dynamicRinforzando "
                               "dynamicSforzando dynamicZ dynamicNiente".split())),
    ("tuplet", frozenset(["tupletColon"] + [f"tuplet{d}" for d in range(10)])),
)


def _issue(code, message, node_id, resolution=None, fingerprint=None):
    return {"code": code, "message": message, "nodeId": node_id, "resolution": resolution,
            "fingerprint": fingerprint}


def _rename(node_id, new_class):
    return {"operations": [{"updateNodeId": node_id, "newClassName": new_class}]}


class _Context:
    """Per-document lookups shared by the rules."""

    def __init__(self, doc):
        self.doc = doc
        ids = doc.ids
        self.ids = ids
        self.classes = doc.class_names
        # id -> index of the LAST node element with that id ("last wins"); the dict's
        # key order is the first position of each id (node-map order, §4.3)
        self.index_of = dict(zip(ids, range(len(ids))))
        by_class = {}
        for i, c in enumerate(self.classes):
            lst = by_class.get(c)
            if lst is None:
                by_class[c] = [i]
            else:
                lst.append(i)
        self.by_class = by_class


# ---------------------------------------------------------------------------
# 1xxx, 2xxx, 3xxx, 4001


def _deprecated(ctx, out, renames):
    buckets = [None] * len(DEPRECATIONS)
    index = _DEPRECATION_INDEX
    for c, members in ctx.by_class.items():
        k = index.get(c)
        if k is not None:
            buckets[k] = members
    ids = ctx.ids
    for k, (code, old, new) in enumerate(DEPRECATIONS):
        members = buckets[k]
        if not members:
            continue
        if new is None:
            msg = f"Class '{old}' is deprecated. See the annotation instructions for more info."
            for i in members:
                out.append(_issue(code, msg, ids[i]))
        else:
            msg = f"Class '{old}' is deprecated. Use '{new}' instead."
            for i in members:
                nid = ids[i]
                if renames is not None:
                    renames.append((len(out), i, new))
                out.append(_issue(code, msg, nid, _rename(nid, new)))


def _orientation(ctx, out, renames):
    doc = ctx.doc
    classes = ctx.classes
    ids = ctx.ids
    tops = doc.tops
    heights = doc.heights
    index_of = ctx.index_of
    heads = []
    for i, c in enumerate(classes):
        if c in NOTEHEADS:
            targets = [index_of[t] for t in doc.outlinks[i]]
            if targets:
                heads.append((i, targets))
    if not heads:
        return
    for code, up, down, kids in ORIENTATION_FAMILIES:
        for i, targets in heads:
            mid_n = None
            for j in targets:
                cc = classes[j]
                if cc not in kids:
                    continue
                if mid_n is None:
                    mid_n = tops[i] + heights[i] // 2
                mid_c = tops[j] + heights[j] // 2
                if cc.endswith(up) and mid_n < mid_c:
                    new = cc.replace(up, down)
                    side = "below"
                elif cc.endswith(down) and mid_n > mid_c:
                    new = cc.replace(down, up)
                    side = "above"
                else:
                    continue
                cid = ids[j]
                if renames is not None:
                    renames.append((len(out), j, new))
                out.append(_issue(
                    code, f"Node '{cc}' should be '{new}' since it is actually {side} the "
                    "notehead.", cid, _rename(cid, new), str(ids[i])))


def _line_flags(masks, axis):
    """For each 2-D 0/1 mask: is it a single-pixel line? ``axis`` 1 sums each row (the
    vector has one entry per row), 0 each column. Flag when ``k / n >= 0.8`` (float64),
    ``k`` = entries equal to 1, ``n`` = vector length; ``n == 0`` never flags.
    Vectorised with one ``np.add.reduceat`` per batch of masks."""
    import numpy as np
    if axis == 0:
        # few, large masks (staff lines): numpy's own column sums are fastest
        flags = []
        for m in masks:
            h, w = m.shape
            if w == 0 or h == 0:
                flags.append(False)
                continue
            k = int(np.count_nonzero(m.sum(axis=0, dtype=np.int64) == 1))
            flags.append(k / w >= 0.8)
        return flags
    # many, small masks (stems, barlines): row sums of a batch of them in one reduceat;
    # batches are bounded because reduceat with an int64 total copies its input to int64
    # (8 bytes a pixel: 460 MiB for the 60 million pixels of 200,000 small nodes)
    flags = []
    start = 0
    while start < len(masks):
        end, pixels = start + 1, masks[start].size
        while end < len(masks) and pixels + masks[end].size <= _LINE_BATCH_PIXELS:
            pixels += masks[end].size
            end += 1
        flags.extend(_row_line_flags(masks[start:end]))
        start = end
    return flags


_LINE_BATCH_PIXELS = 1 << 22


def _row_line_flags(masks):
    """``_line_flags`` with ``axis`` 1 for one batch of masks."""
    import numpy as np
    flags = [False] * len(masks)
    parts = []
    seg_len = []            # n: number of sums (rows) per mask
    seg_width = []          # entries per sum
    which = []
    for j, m in enumerate(masks):
        n, width = m.shape
        if n == 0 or width == 0:
            continue        # no sums, or all sums are 0: never flagged
        parts.append(m.ravel())
        seg_len.append(n)
        seg_width.append(width)
        which.append(j)
    if not which:
        return flags
    flat = np.concatenate(parts) if len(parts) > 1 else parts[0]
    seg_len = np.array(seg_len, dtype=np.int64)
    seg_width = np.array(seg_width, dtype=np.int64)
    nsums = int(seg_len.sum())
    first_sum = np.cumsum(seg_len) - seg_len                 # index of each mask's 1st sum
    first_px = np.cumsum(seg_len * seg_width) - seg_len * seg_width
    # start of every sum: first_px of its mask + (index within the mask) * width
    owner = np.repeat(np.arange(len(which), dtype=np.intp), seg_len.astype(np.intp))
    local = np.arange(nsums, dtype=np.int64) - first_sum[owner]
    starts = first_px[owner] + local * seg_width[owner]
    sums = np.add.reduceat(flat, starts.astype(np.intp), dtype=np.int64)
    k = np.add.reduceat((sums == 1).astype(np.int64), first_sum.astype(np.intp))
    ratio = k.astype(np.float64) / seg_len.astype(np.float64)
    for pos in np.flatnonzero(ratio >= 0.8).tolist():
        flags[which[pos]] = True
    return flags


def _single_pixel(ctx, out):
    doc = ctx.doc
    nodes = doc.nodes
    ids = ctx.ids
    for cname, code, axis in SINGLE_PIXEL:
        members = ctx.by_class.get(cname)
        if not members:
            continue
        masks = []
        for i in members:
            mask = nodes[i].mask
            if mask is None:
                mask = doc.mask(i)
            if mask is None:
                raise InvalidDocument(
                    f"a '{cname}' node must have a Mask (needed by the single-pixel line check)",
                    node_id=ids[i], line=doc.lines[i])
            masks.append(mask)
        msg = f"Node '{cname}' is likely a single-pixel line, instead of a proper mask."
        for i, flagged in zip(members, _line_flags(masks, axis)):
            if flagged:
                out.append(_issue(code, msg, ids[i]))


def _transcription(ctx, out):
    data = ctx.doc.data
    ids = ctx.ids
    for cname in TRANSCRIPTION_CLASSES:
        members = ctx.by_class.get(cname)
        if not members:
            continue
        msg = f"Node '{cname}' is missing mandatory text transcription."
        for i in members:
            if data[i].get("text_transcription") is None:
                out.append(_issue(4001, msg, ids[i]))


# ---------------------------------------------------------------------------
# 5xxx grammar


def _card_phrase(lo, hi):
    if lo == hi:
        return f"exactly {lo}", lo == 1
    if hi == float("inf"):
        return f"at least {lo}", lo == 1
    if lo == 0:
        return f"at most {hi}", hi == 1
    return f"{lo} to {hi}", False


class _Plan:
    """How to evaluate the checks of one owner class in one direction quickly.

    ``always``: checks with a minimum (always evaluated); ``capped``: atomic checks with
    only a maximum, by counted class (they can only fail when that class occurs more
    often than the maximum); ``capped_any``: ANYOF checks with only a maximum;
    ``cap_floor``: the smallest maximum of all capped checks -- a node with at most that
    many links cannot fail any of them.
    """

    __slots__ = ("always", "capped", "capped_any", "cap_floor")

    def __init__(self, checks):
        self.always = tuple(c for c in checks if c.min > 0)
        capped = {}
        capped_any = []
        floor = float("inf")
        for c in checks:
            if c.min > 0:
                continue
            floor = min(floor, c.max)
            if c.any:
                capped_any.append(c)
            else:
                capped.setdefault(c.counted[0], []).append(c)
        self.capped = dict((k, tuple(v)) for k, v in capped.items())
        self.capped_any = tuple(capped_any)
        self.cap_floor = floor


class _PassText:
    """Message pieces of one check in one pass (computed on first use)."""

    __slots__ = ("message_head", "fp_middle")

    def __init__(self, chk, badge):
        phrase, singular = _card_phrase(chk.min, chk.max)
        if chk.direction == "OUT":
            dirphrase = "outlink to" if singular else "outlinks to"
        else:
            dirphrase = "inlink from" if singular else "inlinks from"
        self.message_head = (f"[{chk.owner}] should have {phrase} {badge} {dirphrase} "
                             f"[{chk.joined}] but currently has ")
        self.fp_middle = (f" {'out' if chk.direction == 'OUT' else 'in'}links to [{chk.quoted}], "
                          f"but grammar specifies rule: {chk.rule}. Affected nodes: ")


_PLANS = {}


def _plans(grammar):
    plans = _PLANS.get(grammar.name)
    if plans is None:
        plans = {}
        for owner, (ins, outs) in grammar.checks.items():
            plans[owner] = (_Plan(ins) if ins else None, _Plan(outs) if outs else None)
        _PLANS[grammar.name] = plans
    return plans


def _failing(plan, nbrs, ncls):
    """The failing checks of ``plan`` (in expansion order) with their counts, for a node
    whose neighbours (in edge order) are ``nbrs`` with classes ``ncls``."""
    nlen = len(nbrs)
    failed = []
    for chk in plan.always:
        if nlen:
            count = sum(map(chk.counted_set.__contains__, ncls))
        else:
            count = 0
        if count < chk.min or count > chk.max:
            failed.append((chk.index, chk, count))
    if nlen > plan.cap_floor:
        capped = plan.capped
        if capped:
            tally = {}
            for c in ncls:
                tally[c] = tally.get(c, 0) + 1
            for c, k in tally.items():
                group = capped.get(c)
                if group is not None:
                    for chk in group:
                        if k > chk.max:
                            failed.append((chk.index, chk, k))
        for chk in plan.capped_any:
            if nlen > chk.max:
                count = sum(map(chk.counted_set.__contains__, ncls))
                if count > chk.max:
                    failed.append((chk.index, chk, count))
        if len(failed) > 1:
            failed.sort(key=_first)
    return failed


def _first(item):
    return item[0]


def _grammar_pass(ctx, out, grammar, pairs, badge, link_code, card_code, report_unknown):
    node_map = dict(zip(ctx.ids, ctx.classes))     # last class wins, first position kept
    append = out.append
    if report_unknown:
        alphabet = ALPHABET
        for nid, c in node_map.items():
            if c not in alphabet:
                append({"code": 5002, "message": f'Class name "{c}" does not exist in MuNG 2.0',
                        "nodeId": nid, "resolution": None, "fingerprint": None})
    edges = edgeorder.ordered_pairs(pairs)
    allowed = grammar.allowed
    empty = frozenset()
    out_adj = {}
    in_adj = {}
    link_tail = " is present but not allowed by the grammar."
    for a, b in edges:
        ca = node_map[a]
        cb = node_map[b]
        if cb not in allowed.get(ca, empty):
            if ca is None or cb is None:
                i = ctx.index_of[a if ca is None else b]
                raise InvalidDocument(
                    "a node with an empty ClassName has a "
                    f"{'syntax' if link_code == 5101 else 'precedence'} link ({a} -> {b}), "
                    "which MuNG Studio cannot report",
                    node_id=ctx.ids[i], line=ctx.doc.lines[i])
            sb = str(b)
            append({"code": link_code,
                    "message": f"{badge} link [{ca}:{a}]-->[{cb}:{sb}]{link_tail}",
                    "nodeId": a, "resolution": None, "fingerprint": sb})
        lst = out_adj.get(a)
        if lst is None:
            out_adj[a] = [b]
        else:
            lst.append(b)
        lst = in_adj.get(b)
        if lst is None:
            in_adj[b] = [a]
        else:
            lst.append(a)

    plans = _plans(grammar)
    texts = {}
    no_links = ()
    for nid, c in node_map.items():
        pair = plans.get(c)
        if pair is None:
            continue
        for plan, adj in ((pair[0], in_adj), (pair[1], out_adj)):
            if plan is None:
                continue
            nbrs = adj.get(nid, no_links)
            if not plan.always and len(nbrs) <= plan.cap_floor:
                continue
            ncls = [node_map[y] for y in nbrs]
            for _, chk, count in _failing(plan, nbrs, ncls):
                affected = []
                if count:
                    for cc in chk.counted:
                        for y, yc in zip(nbrs, ncls):
                            if yc == cc:
                                affected.append(y)
                text = texts.get(chk)
                if text is None:
                    text = texts[chk] = _PassText(chk, badge)
                raw = (f'Symbol {nid} ("{c}") has {count}{text.fp_middle}{nid}; '
                       f'[{", ".join([str(y) for y in affected])}].')
                if nid >= 0:
                    append({"code": card_code, "message": f"{text.message_head}{count}.",
                            "nodeId": nid, "resolution": None, "fingerprint": raw})
                else:
                    # the reference re-parses the raw text; a '-' in the id defeats it
                    append({"code": 5001,
                            "message": f"Grammar for {badge}: {raw} Suggested corrections: []",
                            "nodeId": nid, "resolution": None,
                            "fingerprint": str(affected[0]) if affected else None})


def _syntax_pairs(ctx):
    ids = ctx.ids
    return [(ids[i], t) for i, links in enumerate(ctx.doc.outlinks) for t in links]


def _precedence_pairs(ctx):
    ids = ctx.ids
    data = ctx.doc.data
    index_of = ctx.index_of
    pairs = []
    for i, d in enumerate(data):
        if not d or "precedence_outlinks" not in d:
            continue
        links = d["precedence_outlinks"]
        if not isinstance(links, list):
            raise InvalidDocument("DataItem 'precedence_outlinks' must be a list of node ids "
                                  f"(type list[int]), got {links!r}",
                                  node_id=ids[i], line=ctx.doc.lines[i])
        a = ids[i]
        for t in links:
            ok = (type(t) is int or (type(t) is float and t.is_integer())) and t in index_of
            if not ok:
                raise InvalidDocument(f"precedence link to {t!r}, which is not the id of any "
                                      "node", node_id=a, line=ctx.doc.lines[i])
            pairs.append((a, t))
    return pairs


# ---------------------------------------------------------------------------
# 5301, 5302


def _sequentiality(ctx, out):
    data = ctx.doc.data
    outlinks = ctx.doc.outlinks
    classes = ctx.classes
    index_of = ctx.index_of
    ids = ctx.ids
    for container, kids in SEQUENCE_CONTAINERS:
        members = ctx.by_class.get(container)
        if not members:
            continue
        for i in members:
            children = [j for j in (index_of[t] for t in outlinks[i]) if classes[j] in kids]
            if not children:
                continue
            starts = sum(1 for j in children if not data[j].get("precedence_inlinks"))
            ends = sum(1 for j in children if not data[j].get("precedence_outlinks"))
            if starts != 1 or ends != 1:
                out.append(_issue(5301, f"Children of [{container}:{ids[i]}] are not sequentially "
                                  f"ordered via {PRECEDENCE_BADGE} links.", ids[i]))


def _staff_count(ctx, out):
    members = ctx.by_class.get("measureSeparator")
    if not members:
        return                                   # D2: no crash, no issue
    outlinks = ctx.doc.outlinks
    classes = ctx.classes
    index_of = ctx.index_of
    counts = [sum(1 for t in outlinks[i] if classes[index_of[t]] == "staff") for i in members]
    freq = {}
    for c in counts:
        freq[c] = freq.get(c, 0) + 1
    best = None
    best_n = -1
    for c, n in freq.items():                    # insertion order = first occurrence
        if n > best_n:
            best, best_n = c, n
    ids = ctx.ids
    for i, c in zip(members, counts):
        if c != best:
            out.append(_issue(
                5302, f"{WARNING} [measureSeparator:{ids[i]}] links to an unexpected number "
                f"({c}) of [staff] nodes. Most common staff count is {best}. This may not be an "
                "issue in a small minority of pages, but is very suspicious for most.",
                ids[i]))


# ---------------------------------------------------------------------------


def run_rules(doc: MungDocument,
              renames: list[tuple[int, int, str]] | None = None) -> list[dict]:
    """All issues of ``doc`` in output order (spec §3 table). If ``renames`` is a list,
    ``(issue index, node element index, new class)`` is appended for every issue with a
    resolution."""
    ctx = _Context(doc)
    out = []
    _deprecated(ctx, out, renames)
    _orientation(ctx, out, renames)
    _single_pixel(ctx, out)
    _transcription(ctx, out)
    precedence_pairs = _precedence_pairs(ctx)   # a dangling precedence link fails the run
    _grammar_pass(ctx, out, SYNTAX, _syntax_pairs(ctx), SYNTAX_BADGE, 5101, 5102, False)
    _grammar_pass(ctx, out, PRECEDENCE, precedence_pairs, PRECEDENCE_BADGE, 5201, 5202, True)
    _sequentiality(ctx, out)
    _staff_count(ctx, out)
    return out
