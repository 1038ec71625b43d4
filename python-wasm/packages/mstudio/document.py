"""Helpers that edit MuNG XML documents as text.

* :func:`encode_mask_rle` writes a 0/1 mask exactly like ``mung.node.Node.encode_mask_rle``
  (mung 1.2.1): the mask is flattened in row-major order and written as runs
  ``value:length`` separated by single spaces, always starting with a 0-run (``0:0``
  when the first pixel is 1). An empty (0-pixel) mask is ``0:0``.
* :func:`add_node` appends one node to a document. Only the new node's text is
  inserted; every other byte of the document is left as it was. The new node copies
  the layout (indentation, line breaks) of the document's last node.

Both MuNG documents (``<Nodes>`` / ``<Node>``) and MUSCIMA++ 1.0 documents
(``<CropObjectList>`` / ``<CropObjects>`` / ``<CropObject>``) are supported. The node
element name is chosen as the readers do: ``Node`` if the document has any ``Node``
element, otherwise ``CropObject``.
"""

from __future__ import annotations

import codecs
import re

import numpy as np

from mstudio.errors import InvalidInput
from mstudio.mungxml import parse_id

try:  # a subclass of InvalidInput for unreadable documents, where available
    from mstudio.errors import InvalidDocument
except ImportError:  # pragma: no cover
    InvalidDocument = InvalidInput

__all__ = ["encode_mask_rle", "add_node"]


# ---------------------------------------------------------------------------
# masks

def _binary_mask(mask, what="mask"):
    if not isinstance(mask, np.ndarray):
        raise InvalidInput(f"{what} must be a numpy array, got {type(mask).__name__}")
    if mask.dtype != np.bool_ and mask.dtype.kind not in "iu":
        raise InvalidInput(f"{what} must have a bool or integer dtype, got {mask.dtype}")
    if mask.dtype != np.bool_ and mask.size and ((mask != 0) & (mask != 1)).any():
        raise InvalidInput(f"{what} must be binary (only 0 and 1)")
    return mask.astype(np.uint8)


def encode_mask_rle(mask: np.ndarray | None) -> str:
    """Run-length encode a 0/1 mask as mung 1.2.1 does (``0:12 1:5 0:3``).

    ``None`` gives ``'None'`` (as in mung). Any other input must be a numpy array
    of bool or integer dtype holding only 0 and 1 (else :class:`InvalidInput`).
    """
    if mask is None:
        return "None"
    flat = _binary_mask(mask).ravel(order="C")
    n = int(flat.size)
    if n == 0:
        return "0:0"
    change = np.flatnonzero(flat[1:] != flat[:-1]).astype(np.int64) + 1
    starts = np.concatenate((np.zeros(1, dtype=np.int64), change))
    ends = np.concatenate((change, np.array([n], dtype=np.int64)))
    lengths = (ends - starts).tolist()
    first = int(flat[0])
    parts = [] if first == 0 else ["0:0"]
    value = first
    for length in lengths:
        parts.append(f"{value}:{length}")
        value = 1 - value
    return " ".join(parts)


def _crop_to_content(mask):
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        raise InvalidInput("the extracted mask is empty")
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    return r0, c0, np.ascontiguousarray(mask[r0:r1, c0:c1])


def _doc_error(detail, node_id=None, line=None):
    """An error about the document itself (``InvalidDocument`` if mstudio has it)."""
    if InvalidDocument is not InvalidInput:
        try:
            return InvalidDocument(detail, node_id=node_id, line=line)
        except TypeError:  # pragma: no cover - other signature
            pass
    return InvalidDocument(detail)


# ---------------------------------------------------------------------------
# XML text scanning

_XML_DECL_ENCODING = re.compile(
    r"""^\ufeff?\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")

# Markup tokens of a well-formed document (checked by lxml beforehand). Text
# content never contains '<', and quoted attribute values are matched whole, so
# a '>' inside a value is not mistaken for the end of a tag.
_TOKEN = re.compile(
    r"<!--.*?-->"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|<\?.*?\?>"
    r"|<!DOCTYPE(?:[^\[>]|\[.*?\])*>"
    r"|</(?P<end>[^\s>]+)\s*>"
    r"|<(?P<start>[^\s/>!?]+)(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(?P<empty>/?)>",
    re.S,
)


class _Element:
    __slots__ = ("name", "start", "start_end", "end_start", "end", "parent", "children",
                 "self_closing")

    def __init__(self, name, start, start_end, parent):
        self.name = name
        self.start = start          # offset of '<' of the start tag
        self.start_end = start_end  # offset just after the start tag
        self.end_start = None       # offset of '<' of the end tag
        self.end = None             # offset just after the end tag
        self.parent = parent
        self.children = []
        self.self_closing = False


def _scan(text):
    """Element tree with character offsets; returns the root element."""
    stack = []
    root = None
    for m in _TOKEN.finditer(text):
        if m.group("start") is not None:
            parent = stack[-1] if stack else None
            el = _Element(m.group("start"), m.start(), m.end(), parent)
            if parent is not None:
                parent.children.append(el)
            elif root is None:
                root = el
            else:
                raise _doc_error("the document has more than one root element")
            if m.group("empty"):
                el.self_closing = True
                el.end_start = el.end = m.end()
            else:
                stack.append(el)
        elif m.group("end") is not None:
            if not stack or stack[-1].name != m.group("end"):
                raise _doc_error(f"could not match the end tag </{m.group('end')}>")
            el = stack.pop()
            el.end_start = m.start()
            el.end = m.end()
    if root is None or stack:
        raise _doc_error("could not locate the root element of the document")
    return root


def _iter_elements(el):
    yield el
    for child in el.children:
        for sub in _iter_elements(child):
            yield sub


def _line_indent(text, pos):
    """Whitespace between the previous line break and ``pos``, or None when
    something other than whitespace precedes ``pos`` on its line."""
    line_start = max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1
    prefix = text[line_start:pos]
    return prefix if prefix.strip() == "" else None


def _newline_before(text, pos):
    """The line break style used just before ``pos`` ('\\r\\n', '\\n' or '\\r')."""
    i = max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos))
    if i < 0:
        return "\n"
    if text[i] == "\n" and i > 0 and text[i - 1] == "\r":
        return "\r\n"
    return text[i]


def _whitespace(text, a, b):
    s = text[a:b]
    return s if s.strip() == "" else None


class _Layout:
    """How a node element is laid out: separators before the node, before each
    child, before ``</Node>``, and inside ``<Data>``."""

    def __init__(self, node_sep, child_sep, close_sep, item_sep, data_close_sep):
        self.node_sep = node_sep
        self.child_sep = child_sep
        self.close_sep = close_sep
        self.item_sep = item_sep
        self.data_close_sep = data_close_sep


def _default_layout(nl, node_indent, unit):
    child_indent = node_indent + unit
    return _Layout(nl + node_indent, nl + child_indent, nl + node_indent,
                   nl + child_indent + unit, nl + child_indent)


def _layout_from(text, node):
    """Copy the layout of an existing node element."""
    nl = _newline_before(text, node.start)
    i = node.start
    while i > 0 and text[i - 1] in " \t\r\n":
        i -= 1
    node_sep = text[i:node.start]
    if node.self_closing or not node.children:
        layout = _default_layout(nl, _line_indent(text, node.start) or "", "\t")
        layout.node_sep = node_sep
        return layout
    child_sep = _whitespace(text, node.start_end, node.children[0].start)
    close_sep = _whitespace(text, node.children[-1].end, node.end_start)
    if child_sep is None:
        child_sep = ""
    if close_sep is None:
        close_sep = ""
    node_indent = _line_indent(text, node.start) or ""
    child_indent = _line_indent(text, node.children[0].start)
    if child_indent is not None and child_indent.startswith(node_indent) and \
            len(child_indent) > len(node_indent):
        unit = child_indent[len(node_indent):]
    else:
        unit = "\t"
    item_sep = child_sep + unit if "\n" in child_sep or "\r" in child_sep else child_sep
    data_close_sep = child_sep
    for child in node.children:
        if child.name == "Data" and child.children:
            s = _whitespace(text, child.start_end, child.children[0].start)
            c = _whitespace(text, child.children[-1].end, child.end_start)
            if s is not None and c is not None:
                item_sep, data_close_sep = s, c
            break
    return _Layout(node_sep, child_sep, close_sep, item_sep, data_close_sep)


# ---------------------------------------------------------------------------
# node text

def _escape(s, quote=False):
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        s = s.replace('"', "&quot;")
    return s


def _data_items(data):
    """``[(key, type, text)]`` for the ``<Data>`` element, as mung writes them.
    ``None`` values and empty lists are left out (as MuNG Studio does)."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise InvalidInput(f"data must be a dict or None, got {type(data).__name__}")
    items = []
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            raise InvalidInput(f"data keys must be non-empty strings, got {key!r}")
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)):
            raise InvalidInput(f"data[{key!r}]: booleans cannot be stored in MuNG")
        if isinstance(value, (int, np.integer)):
            items.append((key, "int", str(int(value))))
        elif isinstance(value, (float, np.floating)):
            items.append((key, "float", repr(float(value))))
        elif isinstance(value, str):
            items.append((key, "str", value))
        elif isinstance(value, (list, tuple)):
            if not value:
                continue
            if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                   for v in value):
                items.append((key, "list[int]", " ".join(str(int(v)) for v in value)))
            elif all(isinstance(v, (int, float, np.integer, np.floating))
                     and not isinstance(v, (bool, np.bool_)) for v in value):
                items.append((key, "list[float]", " ".join(repr(float(v)) for v in value)))
            elif all(isinstance(v, str) and v and v.split() == [v] for v in value):
                items.append((key, "list[str]", " ".join(value)))
            else:
                raise InvalidInput(f"data[{key!r}]: a list must hold only ints, only numbers or "
                                   "only strings without whitespace")
        else:
            raise InvalidInput(
                f"data[{key!r}]: unsupported value type {type(value).__name__}")
    return items


def _node_text(tag, attrs, node_id, class_name, top, left, width, height, rle, items, layout):
    cs = layout.child_sep
    parts = [f"<{tag}{attrs}>"]
    for name, value in (("Id", str(node_id)), ("ClassName", _escape(class_name)),
                        ("Top", str(top)), ("Left", str(left)), ("Width", str(width)),
                        ("Height", str(height)), ("Mask", rle)):
        parts.append(f"{cs}<{name}>{value}</{name}>")
    if items:
        parts.append(cs + "<Data>")
        for key, vtype, value in items:
            parts.append(f'{layout.item_sep}<DataItem key="{_escape(key, True)}" '
                         f'type="{vtype}">{_escape(value)}</DataItem>')
        parts.append(layout.data_close_sep + "</Data>")
    parts.append(f"{layout.close_sep}</{tag}>")
    return "".join(parts)


# ---------------------------------------------------------------------------
# documents

def _parse(data):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=True, remove_blank_text=False)
    try:
        return etree.fromstring(data, parser).getroottree()
    except etree.XMLSyntaxError as exc:
        raise _doc_error(f"the document is not well-formed XML: {exc}",
                         line=getattr(exc, "lineno", None))


def _to_bytes(xml):
    if isinstance(xml, (bytes, bytearray, memoryview)):
        return bytes(xml)
    if isinstance(xml, str):
        m = _XML_DECL_ENCODING.match(xml)
        enc = m.group(1) if m else "utf-8"
        try:
            return xml.encode(enc)
        except (LookupError, UnicodeError) as exc:
            raise InvalidInput(f"cannot encode the document as {enc}: {exc}")
    raise InvalidInput(f"xml must be str or bytes, got {type(xml).__name__}")


def _node_id(el):
    ids = el.findall("Id")
    text = ids[0].text if ids else None
    try:
        return parse_id(text.strip())
    except (AttributeError, ValueError, OverflowError):
        raise _doc_error(f"a <{el.tag}> element has no valid <Id> (got {text!r})",
                         line=el.sourceline)


def _check_int(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidInput(f"{what} must be an integer, got {value!r}")
    return int(value)


def add_node(xml: str | bytes, class_name: str, top: int, left: int, mask: np.ndarray,
             data: dict | None = None) -> tuple[bytes, int]:
    """Append a node to a MuNG document.

    ``xml``: the document (``bytes`` or ``str``). ``class_name``: the new node's
    class. ``top``, ``left``: page position of ``mask[0, 0]``. ``mask``: 2-D 0/1
    array (bool or integer dtype); it is cropped to its non-zero bounding box and
    the box is moved accordingly. ``data``: optional ``{key: value}`` written as
    ``<Data>`` items (int, float, str, or homogeneous lists; ``None`` values and
    empty lists are skipped).

    Returns ``(document bytes, new id)``; the new id is the largest existing id
    plus one (0 for a document without nodes). The new element is inserted after
    the last node element (or, in a document without nodes, at the end of the
    ``Nodes`` root / the ``CropObjects`` list) and copies that node's layout; the
    rest of the document is byte-for-byte unchanged. Raises :class:`InvalidInput`
    on bad arguments, an empty mask or a document that is not MuNG.
    """
    if not isinstance(class_name, str) or not class_name or class_name.strip() != class_name:
        raise InvalidInput("class_name must be a non-empty string without surrounding "
                           f"whitespace, got {class_name!r}")
    top = _check_int(top, "top")
    left = _check_int(left, "left")
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        raise InvalidInput("mask must be a 2-D numpy array")
    mask = _binary_mask(mask)
    dy, dx, mask = _crop_to_content(mask)
    top += dy
    left += dx
    if top < 0 or left < 0:
        raise InvalidInput(f"the node would lie outside the page (top={top}, left={left})")
    height, width = mask.shape
    items = _data_items(data)
    rle = encode_mask_rle(mask)

    raw = _to_bytes(xml)
    tree = _parse(raw)
    root = tree.getroot()
    encoding = tree.docinfo.encoding or "UTF-8"
    try:
        codec = codecs.lookup(encoding).name
        text = raw.decode(codec)
    except (LookupError, UnicodeError) as exc:
        raise _doc_error(f"cannot decode the document as {encoding}: {exc}")
    if text.encode(codec) != raw:
        raise _doc_error(f"the document's encoding {encoding} does not round-trip; "
                           "re-encode it as UTF-8")

    if next(root.iter("Node"), None) is not None:
        tag = "Node"
    elif root.tag == "CropObjectList" or next(root.iter("CropObject"), None) is not None:
        tag = "CropObject"
    else:
        tag = "Node"
    existing = list(root.iter(tag))
    if not existing and root.tag not in ("Nodes", "CropObjectList"):
        raise _doc_error(f"not a MuNG document: the root element is <{root.tag}> and there is "
                           "no <Node> element")
    if root.tag == tag:
        raise _doc_error(f"the root element is a single <{tag}>; nothing to append to")
    new_id = max(_node_id(el) for el in existing) + 1 if existing else 0
    if new_id > 2 ** 63 - 1:
        raise _doc_error("the largest id is already 2**63 - 1; no id is left for a new node")

    sroot = _scan(text)
    nodes = [el for el in _iter_elements(sroot) if el.name == tag]
    if len(nodes) != len(existing):
        raise _doc_error(f"could not locate the <{tag}> elements in the document text")

    attrs = ""
    if nodes:
        last = nodes[-1]
        layout = _layout_from(text, last)
        if tag == "CropObject":
            last_el = existing[-1]
            xml_id = last_el.get("{http://www.w3.org/XML/1998/namespace}id")
            m = re.match(r"^(.*___)-?\d+$", xml_id or "")
            if m:
                attrs = f' xml:id="{_escape(m.group(1) + str(new_id), True)}"'
        snippet = layout.node_sep + _node_text(tag, attrs, new_id, class_name, top, left,
                                               width, height, rle, items, layout)
        new_text = text[:last.end] + snippet + text[last.end:]
    else:
        container = sroot
        if sroot.name == "CropObjectList":
            for child in sroot.children:
                if child.name == "CropObjects":
                    container = child
                    break
        nl = _newline_before(text, container.start)
        layout = _default_layout(nl, "", "\t")
        body = _node_text(tag, attrs, new_id, class_name, top, left, width, height, rle,
                          items, layout)
        if container.self_closing:
            open_tag = text[container.start:container.start_end]
            new_open = open_tag[:-2].rstrip() + ">"
            replacement = f"{new_open}{nl}{body}{nl}</{container.name}>"
            new_text = text[:container.start] + replacement + text[container.start_end:]
        else:
            inner = text[container.start_end:container.end_start]
            pos = container.end_start
            if inner.strip() == "" and inner:
                # Keep the existing blank content; put the node on its own line.
                lead = "" if inner.endswith(("\n", "\r")) else nl
                snippet = lead + body + nl
            else:
                lead = "" if text[pos - 1:pos] in ("\n", "\r") else nl
                snippet = lead + body + nl
            new_text = text[:pos] + snippet + text[pos:]

    out = new_text.encode(codec, "xmlcharrefreplace")
    check = _parse(out).getroot()
    added = [el for el in check.iter(tag) if _node_id(el) == new_id]
    if len(added) != 1 or len(list(check.iter(tag))) != len(existing) + 1:
        raise _doc_error("internal check failed: the new node could not be read back")
    return out, new_id
