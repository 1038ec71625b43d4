"""``fix(xml)``: apply the resolutions of the validation issues (class renames).

Loop: validate -> rename -> validate ... until no issue has a resolution (renames can
cascade: a 1xxx rename can reveal a 2xxx orientation issue), at most ``MAX_ROUNDS``
rounds, and stopping early if a round would bring the document back to a state it had
before (a child linked to noteheads on both sides flips Up/Down forever; such issues
cannot be fixed by renames and are left in place).

Each rename is applied to the node *element* the issue was computed from (1xxx: the
element with the deprecated class; 2xxx: the child element that the id resolves to,
i.e. the last element with that id), so duplicated ids are handled consistently with the
validator.

Edits are textual: only the text of the affected ``<ClassName>`` elements changes, every
other byte of the document is kept (for UTF-8, ASCII and single-byte encodings, which
covers MuNG Studio's output). For any other encoding, or if the textual edit cannot be
verified, the edited lxml tree is serialised instead (same encoding and XML
declaration, but not byte-identical). The result is always re-read and checked.
"""

from __future__ import annotations

import codecs
import re

from mstudio.errors import InternalError

__all__ = ["fix_document", "MAX_ROUNDS"]

MAX_ROUNDS = 10

# Markup tokens of a well-formed document without DOCTYPE (lxml has accepted it, and
# mstudio.mungxml rejects DOCTYPEs). Character data never contains '<', and quoted
# attribute values are matched whole, so a '>' inside a value does not end a tag.
_TOKENS = (
    r"<!--.*?-->"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|<\?.*?\?>"
    r"|</(?P<end>[^\s>]+)\s*>"
    r"|<(?P<start>[^\s/>!?]+)(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(?P<empty>/?)>"
)
_TOKEN_STR = re.compile(_TOKENS, re.S)
_TOKEN_BYTES = re.compile(_TOKENS.encode("ascii"), re.S)

_BYTE_SAFE = frozenset(["utf-8", "ascii"] + [f"iso8859-{k}" for k in range(1, 17)]
                       + [f"cp125{k}" for k in range(9)] + ["latin-1"])

_DECL_ENCODING = re.compile(
    r"""^(\ufeff?\s*<\?xml\s[^>]*?\bencoding\s*=\s*)(["'])([A-Za-z0-9._:-]+)\2""")


class _NoTextualEdit(Exception):
    pass


def _classname_regions(text, node_tag, is_bytes):
    """For every node element (tag ``node_tag``, document order): the (start, end)
    range of the text of its first direct ``ClassName`` child -- the characters lxml
    returns as ``.text`` (up to the first comment, PI or child element; CDATA sections
    and references included) -- or None if it has no such child."""
    token = _TOKEN_BYTES if is_bytes else _TOKEN_STR
    if is_bytes:
        node_tag = node_tag.encode("ascii")
        classname = b"ClassName"
    else:
        classname = "ClassName"
    regions = []
    # stack entries: [name, node index or -1, "ClassName found" flag, region or None]
    stack = []
    current = None            # the open ClassName element whose text is being measured
    for m in token.finditer(text):
        start_name = m.group("start")
        if current is not None and (start_name is not None or m.group("end") is None):
            # a child element, comment or PI inside ClassName ends its .text
            if not (m.group(0)[:9] in (b"<![CDATA[", "<![CDATA[")):
                if current[1] is None:
                    current[1] = m.start()
        if start_name is not None:
            parent = stack[-1] if stack else None
            if start_name == node_tag:
                regions.append(None)
                entry = [start_name, len(regions) - 1, False]
            else:
                entry = [start_name, -1, False]
            if (start_name == classname and parent is not None and parent[1] >= 0
                    and not parent[2]):
                parent[2] = True
                if m.group("empty"):
                    regions[parent[1]] = (m.end(), m.end())
                else:
                    current = [m.end(), None, parent[1], len(stack)]
            if not m.group("empty"):
                stack.append(entry)
        elif m.group("end") is not None:
            if not stack or stack[-1][0] != m.group("end"):
                raise _NoTextualEdit("unbalanced tags")
            stack.pop()
            if current is not None and len(stack) == current[3]:
                end = current[1] if current[1] is not None else m.start()
                regions[current[2]] = (current[0], end)
                current = None
    if stack:
        raise _NoTextualEdit("unbalanced tags")
    return regions


def _escape(name):
    return name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _codec_name(encoding):
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None


def _edit_text(data, doc, edits):
    """Textual edit: returns the new document (same type as ``data``)."""
    is_bytes = isinstance(data, bytes)
    if is_bytes:
        enc = doc.root.getroottree().docinfo.encoding or "UTF-8"
        codec = _codec_name(enc)
        if codec not in _BYTE_SAFE:
            raise _NoTextualEdit(f"encoding {enc}")
    regions = _classname_regions(data, doc.node_tag, is_bytes)
    if len(regions) != len(doc):
        raise _NoTextualEdit("node count mismatch")
    pieces = []
    pos = 0
    for i in sorted(edits):
        region = regions[i]
        if region is None:
            raise _NoTextualEdit("no ClassName")
        a, b = region
        new = _escape(edits[i])
        pieces.append(data[pos:a])
        pieces.append(new.encode(codec) if is_bytes else new)
        pos = b
    pieces.append(data[pos:])
    return (b"" if is_bytes else "").join(pieces)


def _edit_tree(doc, edits):
    """Fallback: edit the lxml tree and serialise it (keeps the encoding and the XML
    declaration; formatting of the declaration may differ)."""
    from lxml import etree
    for i, new in edits.items():
        doc.elements[i].find("ClassName").text = new
    tree = doc.root.getroottree()
    enc = tree.docinfo.encoding or "UTF-8"
    standalone = tree.docinfo.standalone
    kwargs = {}
    if standalone is not None:
        kwargs["standalone"] = standalone
    return etree.tostring(tree, encoding=enc, xml_declaration=True, **kwargs)


def _to_output_bytes(text):
    """A ``str`` document as bytes: in the encoding its XML declaration names if that
    works, else UTF-8 (with the declaration's encoding changed to match)."""
    m = _DECL_ENCODING.match(text)
    if m is not None:
        codec = _codec_name(m.group(3))
        if codec is not None:
            try:
                return text.encode(codec)
            except UnicodeEncodeError:
                pass
            if codec != "utf-8":
                text = text[:m.start(3)] + "UTF-8" + text[m.end(3):]
    return text.encode("utf-8")


def fix_document(xml: str | bytes | bytearray | memoryview) -> tuple[bytes, int]:
    """See :func:`mstudio.validation.fix`."""
    from . import _read
    from .rules import run_rules
    data = bytes(xml) if isinstance(xml, (bytearray, memoryview)) else xml
    doc = _read(data)
    total = 0
    seen = set([tuple(doc.class_names)])
    for _ in range(MAX_ROUNDS):
        renames = []
        run_rules(doc, renames)
        edits = {}
        for _, i, new in renames:
            if i not in edits:
                edits[i] = new
        if not edits:
            break
        expected = list(doc.class_names)
        for i, new in edits.items():
            expected[i] = new
        state = tuple(expected)
        if state in seen:
            break                       # renames would cycle: leave the rest as is
        seen.add(state)
        try:
            new_data = _edit_text(data, doc, edits)
        except _NoTextualEdit:
            new_data = None
        new_doc = _read(new_data) if new_data is not None else None
        if new_doc is None or new_doc.class_names != expected:
            new_data = _edit_tree(doc, edits)
            new_doc = _read(new_data)
            if new_doc.class_names != expected:
                raise InternalError("fix: the edited document does not have the expected "
                                    "class names")
        data = new_data
        doc = new_doc
        total += len(edits)
    if isinstance(data, str):
        data = _to_output_bytes(data)
    return data, total
