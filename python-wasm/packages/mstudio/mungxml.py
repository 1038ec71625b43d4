"""Safe, fast reading of MuNG XML documents held in memory.

:func:`parse_xml` parses a document (``str`` or ``bytes``) with a locked-down lxml parser;
:func:`read_mung` reads it into :class:`MungDocument`: the ``mung.node.Node`` objects plus
the per-node data that validation needs (source lines, raw masks, ...).

Reading rules (the behaviour of ``mung.io.read_nodes_from_file``; the project's validation
spec, §1):

* node elements are all ``Node`` elements at any depth, in document order, if the
  document has at least one (root included); otherwise all ``CropObject`` elements
  (MUSCIMA++ 1.0);
* each field is the first direct child of its name; ``Id`` is ``int(float(text))``
  (but see :func:`parse_id`),
  ``Top``/``Left``/``Width``/``Height`` are ``int(text)``; ``Outlinks``/``Inlinks`` are
  split on single spaces and every token must be an int; ``Data``/``DataItem`` typed as in
  ``mung.io``;
* every ``Outlinks``/``Inlinks`` id must be the id of some node;
* masks: RLE (``v:n`` runs) or bitmap, as in ``mung.node.Node.decode_mask``.

Every problem raises :class:`mstudio.errors.InvalidDocument` naming the node
(``node id 12 (line 345): Top is not an integer: '3.0'``).

Decisions that deviate from mung/MuNG Studio (documented for the product):

* **Entities/DTDs.** The parser never loads a DTD, never resolves entities and never
  touches the network; libxml2's amplification guard rejects entity bombs. A document
  with a ``<!DOCTYPE ...>`` (needed to declare any entity) is rejected with
  ``InvalidDocument`` -- MuNG documents never have one, and this way an external entity
  (``file:///etc/passwd``) is never read and never shows up as text.
* **RLE masks** whose run lengths do not add up to ``Width*Height`` (or with a negative
  run length) are an error, where mung pads with zeros / drops the overflow silently.
* **Bitmap masks** with a value outside (-1, 256) or not finite are an error (the
  conversion to uint8 is platform dependent there); so is a negative Width/Height on a
  node that has a mask (mung fails on it too).
* A mask is never decoded into more than ``MAX_DECODED_PIXELS`` pixels (an error instead
  of a MemoryError); masks that are only checked are never materialised.
* **Ids beyond 2**53.** mung reads ``Id`` as ``int(float(text))``, which rounds large ids
  (``9007199254740993`` becomes ``...992``) and can merge two nodes into one id. An
  integer literal is read exactly instead (the same value wherever mung's is exact); a
  non-integer literal (``1e17``, ``3.0``) whose value is 2**53 or more is an error.
* A ``str`` document is parsed as the text it is: an ``encoding=`` in its XML declaration
  is ignored (as lxml cannot apply it to already-decoded text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mstudio.errors import InvalidDocument, InvalidInput

if TYPE_CHECKING:
    from collections.abc import Collection

_I64_MIN = -(2 ** 63)
_I64_MAX = 2 ** 63 - 1
_EXACT_IN_FLOAT = 2 ** 53


class InexactId(ValueError):
    """An ``Id`` that only a rounding float conversion could read."""


def parse_id(text):
    """An ``Id`` text as an int: exactly for an integer literal (``int(text)``), else as
    mung reads it (``int(float(text))``, so ``3.0`` and ``3.7`` are 3) as long as that is
    exact. Raises ``InexactId`` for a non-integer literal of magnitude 2**53 or more,
    ``ValueError``/``OverflowError``/``TypeError`` for text that is not a number."""
    try:
        return int(text)
    except ValueError:
        pass
    value = float(text)
    if abs(value) >= _EXACT_IN_FLOAT:
        raise InexactId(f"Id {_short(text)} is not an integer literal and is too large to "
                        "read exactly (write it as a plain integer)")
    return int(value)

__all__ = ["parse_xml", "read_mung", "MungDocument", "decode_rle", "decode_bitmap",
           "RLE", "BITMAP"]

RLE = "rle"
BITMAP = "bitmap"

_ABSENT = object()
_FIELDS = ("Id", "ClassName", "Top", "Left", "Width", "Height", "Mask", "Outlinks",
           "Inlinks", "Data")
_FIELD_INDEX = dict((name, i) for i, name in enumerate(_FIELDS))
_MAX_DIGITS = 9            # fast RLE path: numbers up to 999,999,999 (sums fit in int64)
MAX_DECODED_PIXELS = 1 << 28   # refuse to decode a larger mask (a clear error, not a
                               # MemoryError; real pages are < 2**25 pixels)
_HUGE = 1 << 62


# ---------------------------------------------------------------------------
# parsing


def _make_parser(encoding=None):
    from lxml import etree
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,   # never substitute entities
        no_network=True,          # never fetch anything
        load_dtd=False,           # never load an external DTD
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,          # keep libxml2's size/depth/amplification limits
        # NB: do not pass collect_ids=False -- with lxml 6 / libxml2 2.14 that makes the
        # parser load an external DTD subset (a file read), whatever load_dtd says.
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=True,
        recover=False,
    )


def parse_xml(xml: str | bytes | bytearray | memoryview):
    """Parse a document given as ``str`` or ``bytes`` (also ``bytearray``/``memoryview``)
    and return its root element. Raises :class:`InvalidDocument` for anything that is not
    a well-formed XML document without DOCTYPE, :class:`InvalidInput` for a wrong type."""
    from lxml import etree
    if isinstance(xml, str):
        try:
            data = xml.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidDocument("the document text cannot be encoded as UTF-8 "
                                  f"(position {exc.start}): {exc.reason}")
        parser = _make_parser("utf-8")
    elif isinstance(xml, (bytes, bytearray, memoryview)):
        data = bytes(xml)
        parser = _make_parser()
    else:
        raise InvalidInput(f"the document must be str or bytes, got {type(xml).__name__}")
    if not data.strip():
        raise InvalidDocument("the document is empty")
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        msg = getattr(exc, "msg", None) or str(exc)
        line = getattr(exc, "lineno", None)
        raise InvalidDocument(f"not a well-formed XML document: {msg}",
                              line=line or None)
    except (etree.LxmlError, ValueError) as exc:
        raise InvalidDocument(f"not a well-formed XML document: {exc}")
    if root is None:
        raise InvalidDocument("not a well-formed XML document: no root element")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise InvalidDocument("DOCTYPE declarations are not allowed in MuNG documents "
                              "(entities are never expanded)")
    return root


# ---------------------------------------------------------------------------
# fast construction of mung.node.Node

_NODE_FACTORY = None


def _node_factory():
    """Return ``make(id, class_name, top, left, width, height, outlinks, inlinks, dataset,
    document, data) -> Node``. Uses the real constructor's result layout to build nodes
    without running ``Node.__init__`` (5x faster), after checking that both give the same
    object; falls back to the constructor if mung's internals ever differ."""
    global _NODE_FACTORY
    if _NODE_FACTORY is not None:
        return _NODE_FACTORY
    from mung.node import Node

    def slow(id_, class_name, top, left, width, height, outlinks, inlinks, dataset,
             document, data):
        return Node(id_, class_name, top, left, width, height, outlinks=outlinks,
                    inlinks=inlinks, mask=None, dataset=dataset, document=document,
                    data=data)

    new = object.__new__

    def fast(id_, class_name, top, left, width, height, outlinks, inlinks, dataset,
             document, data):
        node = new(Node)
        node.__dict__ = {
            "_Node__id": id_, "_Node__class_name": class_name, "_Node__top": top,
            "_Node__left": left, "_Node__width": width, "_Node__height": height,
            "_Node__mask": None, "inlinks": inlinks, "outlinks": outlinks,
            "_Node__dataset": dataset, "_Node__document": document, "is_selected": False,
            "data": data}
        return node

    sample = (7, "stem", 3, 4, 5, 6, [1, 2], [3], "ds", "doc", {"k": 1})
    try:
        a = slow(*sample)
        b = fast(*sample)
        ok = (a.__dict__ == b.__dict__ and a.bounding_box == b.bounding_box
              and a.mask is None and b.mask is None)
    except Exception:
        ok = False
    _NODE_FACTORY = fast if ok else slow
    return _NODE_FACTORY


def _set_node_mask(node, mask):
    """Attach a decoded uint8 mask of the right shape (as ``Node.set_mask`` would,
    without its copy)."""
    if "_Node__mask" in node.__dict__:
        node.__dict__["_Node__mask"] = mask
    else:
        node.set_mask(mask)


# ---------------------------------------------------------------------------
# masks


def decode_bitmap(text: str, height: int, width: int, where: tuple | None = None):
    """Decode a bitmap mask (whitespace-separated numbers; ``'None'`` means no mask).
    Returns a ``(height, width)`` uint8 array or None."""
    import numpy as np
    if text == "None":
        return None
    tokens = text.split()
    values = []
    for tok in tokens:
        try:
            v = float(tok)
        except ValueError:
            raise _err(where, f"bitmap Mask value is not a number: {_short(tok)!r}")
        if not (-1.0 < v < 256.0):
            raise _err(where,
                       f"bitmap Mask value out of range (must be 0..255): {_short(tok)!r}")
        values.append(v)
    if height < 0 or width < 0 or len(values) != height * width:
        raise _err(where,
                   f"bitmap Mask has {len(values)} values, but Width*Height is {width}*{height}")
    arr = np.array(values, dtype=np.float64).astype(np.uint8)
    return arr.reshape((height, width))


def _rle_runs_slow(text, height, width, where=None):
    """Reference-faithful RLE parsing (``mung.node.Node.decode_mask_rle``), one token at a
    time, plus our total check. Returns (values, lengths) as lists of ints."""
    s = text.rstrip()
    values = []
    lengths = []
    total = 0
    for tok in s.split(" "):
        parts = tok.split(":")
        if len(parts) != 2:
            raise _err(where, f"RLE Mask token {_short(tok)!r} is not of the form value:length")
        try:
            v = int(parts[0])
            n = int(parts[1])
        except ValueError:
            raise _err(where, f"RLE Mask token {_short(tok)!r} is not of the form value:length")
        if n < 0:
            raise _err(where, f"RLE Mask has a negative run length: {_short(tok)!r}")
        values.append(v)
        lengths.append(n)
        total += n
    expected = height * width
    if total != expected:
        raise _err(where, f"RLE Mask run lengths add up to {total}, but Width*Height is "
                   f"{width}*{height} = {expected}")
    return values, lengths


def decode_rle(text: str, height: int, width: int, where: tuple | None = None):
    """Decode one RLE mask (``'0:3 1:2 0:1'``) into a ``(height, width)`` uint8 array."""
    import numpy as np
    if height < 0 or width < 0:
        raise _err(where, "a node with a Mask must have a non-negative Width and Height "
                   f"(got {width}x{height})")
    values, lengths = _rle_runs_slow(text, height, width, where)
    _check_decodable(height, width, where)
    ones = np.array([1 if v == 1 else 0 for v in values], dtype=np.uint8)
    flat = np.repeat(ones, np.array(lengths, dtype=np.int64).astype(np.intp))
    return flat.reshape((height, width))


def _check_decodable(height, width, where):
    if height * width > MAX_DECODED_PIXELS:
        raise _err(where, f"the Mask has {width}*{height} pixels, too many to decode")


def _parse_rle_strict(buf):
    """Fast path for the canonical RLE form: tokens ``v:n`` (``v`` one digit, ``n`` 1-9
    digits) separated by single spaces, nothing else. ``buf`` holds one or more masks
    joined by single spaces (ASCII bytes).

    Returns ``(token_starts, v_values, n_values)`` (byte offset of each token, and its
    two numbers as arrays), or None if ``buf`` is not exactly in that form. Every byte is
    checked: spaces are located, each token must have a digit then ':' at its start, and
    all the bytes of each ``n`` are digits (checked while they are gathered)."""
    import numpy as np
    a = np.frombuffer(buf, dtype=np.uint8)
    size = a.size
    if size < 3:
        return None
    spaces = np.flatnonzero(a == 32)
    ntok = spaces.size + 1
    starts = np.empty(ntok, dtype=np.intp)
    starts[0] = 0
    np.add(spaces, 1, out=starts[1:])
    ends = np.empty(ntok, dtype=np.intp)            # end (exclusive) of each n
    ends[:-1] = spaces
    ends[-1] = size
    lens = ends - starts
    lens -= 2                                       # digits of n
    if int(lens.min()) < 1 or int(lens.max()) > _MAX_DIGITS:
        return None
    if not np.all(a[starts + 1] == 58):
        return None
    v = a[starts]
    v -= 48                                         # uint8: wraps for non-digits
    if int(v.max()) >= 10:
        return None
    last = a[ends - 1]
    last -= 48
    if int(last.max()) >= 10:
        return None
    values = last.astype(np.int64)
    sel = None
    scale = 1
    for j in range(1, int(lens.max())):
        scale *= 10
        sel = np.flatnonzero(lens > j) if sel is None else sel[lens[sel] > j]
        if sel.size == 0:
            break
        d = a[ends[sel] - (j + 1)]
        d -= 48
        if int(d.max()) >= 10:
            return None
        values[sel] += d.astype(np.int64) * scale
    return starts, v, values


def _err(where, detail):
    """InvalidDocument located at ``where``: None, or ``(node id, line)``, or
    ``(node id, element)`` (the line is then read from the element)."""
    if where is None:
        return InvalidDocument(detail)
    node_id, line = where
    if line is not None and not isinstance(line, int):
        line = line.sourceline
    return InvalidDocument(detail, node_id=node_id, line=line)


def _explain_node(rec, i, line):
    """Raise the InvalidDocument for a node record that failed the fast conversion,
    checking the fields in mung.io's order."""
    r_id, cls, r_top, r_left, r_width, r_height, mtext, r_out, r_in, data_el = rec
    if r_id is _ABSENT or r_id is None:
        raise InvalidDocument(
            f"node element #{i + 1} has {'no' if r_id is _ABSENT else 'an empty'} <Id>",
            line=line)
    try:
        nid = parse_id(r_id)
    except InexactId as exc:
        raise InvalidDocument(f"node element #{i + 1}: {exc}", line=line)
    except (ValueError, OverflowError):
        raise InvalidDocument(f"node element #{i + 1}: Id is not a number: {_short(r_id)!r}",
                              line=line)
    where = (nid, line)
    if cls is _ABSENT:
        raise _err(where, "missing <ClassName> element")
    _int_field(r_top, "Top", where)
    _int_field(r_left, "Left", where)
    _int_field(r_width, "Width", where)
    _int_field(r_height, "Height", where)
    _links(r_in, "Inlinks", where)
    _links(r_out, "Outlinks", where)


def _short(text, limit=40):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------
# the document


class MungDocument:
    """A MuNG document read by :func:`read_mung`.

    Attributes (lists are parallel, one entry per node element, in document order):

    * ``nodes`` -- ``mung.node.Node`` objects (masks attached as requested);
    * ``ids``, ``class_names``, ``tops``, ``lefts``, ``widths``, ``heights``,
      ``outlinks``, ``inlinks``, ``data`` -- the same values as plain lists
      (``class_names`` entries are None for an empty ``<ClassName/>``, ``data`` entries
      are dicts, empty when there is no ``<Data>``);
    * ``lines`` -- source line of each node element; ``elements`` -- the lxml elements;
    * ``mask_kinds`` -- ``'rle'``, ``'bitmap'`` or None (no mask, or bitmap ``None``);
    * ``node_tag`` (``'Node'`` or ``'CropObject'``), ``dataset``, ``document`` (root
      attributes, default ``'Unknown'``), ``root`` (the lxml root element).

    ``mask(i)`` returns node ``i``'s mask (decoding it on first use).
    """

    def __init__(self) -> None:
        self.root = None
        self.node_tag = "Node"
        self.dataset = "Unknown"
        self.document = "Unknown"
        self.nodes = []
        self.ids = []
        self.class_names = []
        self.tops = []
        self.lefts = []
        self.widths = []
        self.heights = []
        self.outlinks = []
        self.inlinks = []
        self.data = []
        self._elements = []
        self._lines = None
        self.mask_kinds = []
        self._mask_texts = []

    def __len__(self):
        return len(self.ids)

    @property
    def lines(self) -> list[int | None]:
        """Source line of each node element (computed on first use)."""
        if self._lines is None:
            self._lines = [el.sourceline for el in self._elements]
        return self._lines

    @property
    def elements(self) -> list:
        """The lxml node elements, in document order."""
        return self._elements

    def where(self, i: int) -> tuple[int, int | None]:
        """(node id, line) of node element ``i``, for error messages."""
        return self.ids[i], self._elements[i].sourceline

    def mask(self, i: int):
        """The mask of node ``i`` (uint8 array of shape (height, width)) or None."""
        node = self.nodes[i]
        m = node.mask
        if m is not None or self.mask_kinds[i] is None:
            return m
        text = self._mask_texts[i]
        if self.mask_kinds[i] == RLE:
            m = decode_rle(text, self.heights[i], self.widths[i], self.where(i))
        else:
            m = decode_bitmap(text, self.heights[i], self.widths[i], self.where(i))
        _set_node_mask(node, m)
        return m


def _int_field(text, name, where):
    if text is _ABSENT:
        raise _err(where, f"missing <{name}> element")
    if text is None:
        raise _err(where, f"{name} is empty")
    try:
        return int(text)
    except ValueError:
        raise _err(where, f"{name} is not an integer: {_short(text)!r}")


def _links(text, name, where):
    if text is _ABSENT or text is None:
        return []
    try:
        return [int(tok) for tok in text.split(" ")]
    except ValueError:
        for tok in text.split(" "):
            try:
                int(tok)
            except ValueError:
                if tok == "":
                    raise _err(where, f"{name} has an empty entry (double, leading or "
                                      f"trailing space): {_short(text)!r}")
                raise _err(where, f"{name} entry is not an integer: {_short(tok)!r}")
        raise


def _data_items(data_el, where):
    data = {}
    for item in data_el.findall("DataItem"):
        key = item.get("key")
        vtype = item.get("type")
        text = item.text
        if vtype is None:
            raise _err(where, f"DataItem {key!r} has no type attribute")
        try:
            if vtype == "int":
                value = int(text)
            elif vtype == "float":
                value = float(text)
            elif vtype.startswith("list"):
                if text is None:
                    value = []
                else:
                    factory = str
                    if vtype.endswith("[int]"):
                        factory = int
                    elif vtype.endswith("[float]"):
                        factory = float
                    value = [factory(tok) for tok in text.split()]
            else:
                value = text
        except (TypeError, ValueError):
            raise _err(where, f"DataItem {key!r} of type {vtype!r} has an invalid value: "
                              f"{_short(text)!r}")
        data[key] = value
    return data


def read_mung(xml: str | bytes | bytearray | memoryview,
              masks: bool | Collection[str] = False) -> MungDocument:
    """Read a MuNG (or MUSCIMA++ 1.0) document from ``str``/``bytes``.

    ``masks`` selects which nodes get their mask decoded onto ``Node.mask`` right away:
    ``False`` (none), ``True`` (all) or a collection of class names. Every mask is
    checked either way (a malformed mask is an :class:`InvalidDocument`); undecoded masks
    are decoded on demand by :meth:`MungDocument.mask`.
    """
    root = parse_xml(xml)
    doc = MungDocument()
    doc.root = root
    doc.dataset = root.get("dataset", "Unknown")
    doc.document = root.get("document", "Unknown")
    tag = "Node" if next(root.iter("Node"), None) is not None else "CropObject"
    doc.node_tag = tag

    field_index = _FIELD_INDEX
    absent = _ABSENT
    records = []
    elements = []
    for el in root.iter(tag):
        rec = [absent] * 10
        for ch in el:
            k = field_index.get(ch.tag)
            if k is not None and rec[k] is absent:
                rec[k] = ch if k == 9 else ch.text
        records.append(rec)
        elements.append(el)

    doc._elements = elements
    make_node = _node_factory()
    dataset = doc.dataset
    document = doc.document
    ids = doc.ids
    add_id = ids.append
    add_class = doc.class_names.append
    add_top = doc.tops.append
    add_left = doc.lefts.append
    add_width = doc.widths.append
    add_height = doc.heights.append
    add_out = doc.outlinks.append
    add_in = doc.inlinks.append
    add_data = doc.data.append
    add_node = doc.nodes.append
    add_kind = doc.mask_kinds.append
    add_text = doc._mask_texts.append
    rle_items = []          # (index, stripped text)
    add_rle = rle_items.append
    for i, rec in enumerate(records):
        r_id, cls, r_top, r_left, r_width, r_height, mtext, r_out, r_in, data_el = rec
        try:
            nid = parse_id(r_id)
            top = int(r_top)
            left = int(r_left)
            width = int(r_width)
            height = int(r_height)
            inl = [] if r_in is absent or r_in is None else [int(t) for t in r_in.split(" ")]
            outl = ([] if r_out is absent or r_out is None
                    else [int(t) for t in r_out.split(" ")])
        except (TypeError, ValueError, OverflowError):
            _explain_node(rec, i, elements[i].sourceline)
            raise
        if not (_I64_MIN <= nid <= _I64_MAX):
            # Ids cross the typed interface as 64-bit integers (WIT s64).
            raise InvalidDocument(f"node element #{i + 1}: Id {_short(r_id)} is out of range "
                                  "(ids must fit in a signed 64-bit integer)",
                                  line=elements[i].sourceline)
        for name, value in (("Top", top), ("Left", left), ("Width", width), ("Height", height)):
            if not (_I64_MIN <= value <= _I64_MAX):
                raise _err((nid, elements[i]), f"{name} {_short(str(value))} is out of range (it "
                                               "must fit in a signed 64-bit integer)")
        for name, links in (("Inlinks", inl), ("Outlinks", outl)):
            for t in links:
                if not (_I64_MIN <= t <= _I64_MAX):
                    raise _err((nid, elements[i]), f"{name} entry {_short(str(t))} is out of "
                                                   "range (ids must fit in a signed 64-bit "
                                                   "integer)")
        if cls is absent:
            _explain_node(rec, i, elements[i].sourceline)
        data = {} if data_el is absent else _data_items(data_el, (nid, elements[i]))
        add_id(nid)
        add_class(cls)
        add_top(top)
        add_left(left)
        add_width(width)
        add_height(height)
        add_out(outl)
        add_in(inl)
        add_data(data)
        add_node(make_node(nid, cls, top, left, width, height, outl, inl, dataset, document,
                           data))
        kind = None
        if mtext is not absent:
            if mtext is None:
                raise _err((nid, elements[i]), "Mask is empty")
            if len(mtext) >= 3 and ":" in mtext[:3]:
                kind = RLE
            elif mtext != "None":
                kind = BITMAP
            if kind is not None and (height < 0 or width < 0):
                raise _err((nid, elements[i]), "a node with a Mask must have a non-negative "
                           f"Width and Height (got {width}x{height})")
            if kind == RLE:
                add_rle((i, mtext.rstrip()))
            elif kind == BITMAP:
                decode_bitmap(mtext, height, width, (nid, elements[i]))      # check it now
        add_kind(kind)
        add_text(mtext if kind is not None else None)

    # Duplicate ids make links and fixes ambiguous: refuse them (the reference
    # tolerates them; mung-runtime reports them as an invalid document).
    known = set(ids)
    if len(known) != len(ids):
        first = {}
        for i, nid in enumerate(ids):
            if nid in first:
                raise _err(doc.where(i), f"the id {nid} is also used by the node at line "
                                         f"{elements[first[nid]].sourceline}; node ids must be "
                                         "unique")
            first[nid] = i

    # load-time link check (mung.io.validate_nodes_graph_structure)
    for i in range(len(ids)):
        for name, links in (("Inlinks", doc.inlinks[i]), ("Outlinks", doc.outlinks[i])):
            for t in links:
                if t not in known:
                    raise _err(doc.where(i), f"{name} refers to id {t}, which is not the id of "
                                             "any node")

    if masks is True:
        wanted = None
    elif not masks:
        wanted = frozenset()
    else:
        wanted = frozenset(masks)
    _check_rle_masks(doc, rle_items, wanted)
    if wanted is None or wanted:
        for i, kind in enumerate(doc.mask_kinds):
            if kind == BITMAP and (wanted is None or doc.class_names[i] in wanted):
                doc.mask(i)
    return doc


def _check_rle_masks(doc, items, wanted):
    """Check every RLE mask of the document (format and run-length total) and decode the
    ones of the ``wanted`` classes (None = all). Vectorised over the whole document; any
    mask not in the strict canonical form ``d+:d+( d+:d+)*`` sends the document through
    the reference-faithful per-token path."""
    if not items:
        return
    import numpy as np
    heights = doc.heights
    widths = doc.widths
    texts = [t for _, t in items]
    try:
        buf = " ".join(texts).encode("ascii")
    except UnicodeEncodeError:
        buf = None
    parsed = _parse_rle_strict(buf) if buf is not None else None
    if parsed is None:
        _check_rle_masks_slow(doc, items, wanted)
        return
    token_starts, values, lengths = parsed
    # first token of each mask: masks start at the cumulative text lengths (+1 space)
    text_lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    mask_starts = np.cumsum(text_lens + 1) - (text_lens + 1)
    tok_start = np.searchsorted(token_starts, mask_starts).astype(np.int64)
    if not np.array_equal(token_starts[tok_start], mask_starts):   # cannot happen
        _check_rle_masks_slow(doc, items, wanted)
        return
    tok_end = np.empty_like(tok_start)
    tok_end[:-1] = tok_start[1:]
    tok_end[-1] = token_starts.size
    totals = np.add.reduceat(lengths, tok_start.astype(np.intp))
    expected = np.array([min(heights[i] * widths[i], _HUGE) for i, _ in items],
                        dtype=np.int64)
    bad = np.flatnonzero(totals != expected)
    if bad.size:
        k = int(bad[0])
        i = items[k][0]
        raise _err(doc.where(i), f"RLE Mask run lengths add up to {int(totals[k])}, but "
                   f"Width*Height is {widths[i]}*{heights[i]} = {heights[i] * widths[i]}")
    classes = doc.class_names
    sel = [k for k, (i, _) in enumerate(items) if wanted is None or classes[i] in wanted]
    if not sel:
        return
    pixels = 0
    for k in sel:
        i = items[k][0]
        _check_decodable(heights[i], widths[i], doc.where(i))
        pixels += heights[i] * widths[i]
    if pixels > MAX_DECODED_PIXELS:
        raise InvalidDocument(f"the masks to decode have {pixels} pixels in total, too many")
    # decode the selected masks in one np.repeat over their concatenated tokens
    sel_arr = np.array(sel, dtype=np.intp)
    s0 = tok_start[sel_arr]
    cnt = tok_end[sel_arr] - s0
    offsets = np.cumsum(cnt) - cnt
    token_idx = (np.repeat(s0 - offsets, cnt.astype(np.intp))
                 + np.arange(int(cnt.sum()), dtype=np.int64)).astype(np.intp)
    ones = (values[token_idx] == 1).astype(np.uint8)
    flat = np.repeat(ones, lengths[token_idx].astype(np.intp))
    pos = 0
    nodes = doc.nodes
    for k in sel:
        i = items[k][0]
        h = heights[i]
        w = widths[i]
        size = h * w
        _set_node_mask(nodes[i], flat[pos:pos + size].reshape((h, w)))
        pos += size


def _check_rle_masks_slow(doc, items, wanted):
    for i, text in items:
        if wanted is None or doc.class_names[i] in wanted:
            _set_node_mask(doc.nodes[i], decode_rle(text, doc.heights[i], doc.widths[i],
                                                    doc.where(i)))
        else:
            _rle_runs_slow(text, doc.heights[i], doc.widths[i], doc.where(i))
