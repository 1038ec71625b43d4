"""The MuNG 2.0 alphabet and the two link grammars (the project's validation spec, §4-§6).

The grammar rows are kept as text in the notation of the spec (one row per line,
``parent side | child side``) and are compiled once, at import time, into:

* ``allowed``: ``{parent class: frozenset(child classes)}`` -- the allowed class pairs;
* ``checks``: ``{owner class: (in_checks, out_checks)}`` -- the directed cardinality
  checks that can fail (checks with the default ``{0,inf}`` never fail and are dropped,
  and so are checks owned by classes outside the alphabet, §4.4), each list in
  expansion order.

Row order is normative: it fixes the order of the checks (§4.2).
"""

from __future__ import annotations

import re

__all__ = ["ALPHABET", "CLASS_SETS", "Check", "Grammar", "SYNTAX", "PRECEDENCE"]

INF = float("inf")

# §5 -- 166 class names; a class is "known" iff it is listed here.
ALPHABET = frozenset("""
staffLine staffSpace staff noteheadWhole noteheadHalf noteheadBlack noteheadBlackSmall
noteheadWholeSmall noteheadHalfSmall augmentationDot stem flag8thUp flag16thUp flag32ndUp flag64thUp
flag128thUp flag256thUp flag512thUp flag1024thUp flag8thDown flag16thDown flag32ndDown flag64thDown
flag128thDown flag256thDown flag512thDown flag1024thDown beam legerLine slur tie restWhole restHalf
restQuarter rest8th rest16th rest32nd rest64th rest128th rest256th rest512th rest1024th restLonga
restDoubleWhole restHBar restText accidentalSharp accidentalFlat accidentalNatural
accidentalDoubleSharp accidentalDoubleFlat gClef gClefChange fClef fClefChange cClef cClefChange
keySignature timeSig0 timeSig1 timeSig2 timeSig3 timeSig4 timeSig5 timeSig6 timeSig7 timeSig8
timeSig9 timeSigCommon timeSigCutCommon timeSigSlash timeSigFractionalSlash timeSigPlus
timeSigEquals timeSignature lyricsText verseNumber lyricsUnisono tempoText tempoRitardando
tempoRitardandoSpanner tempoAccelerando tempoAccelerandoSpanner tempoATempo interpretationText
metadataText measureNumber pageNumber otherText barlineSingle barlineHeavy barlineFinal barlineWing
measureSeparator brace bracket staffGrouping systemDivider articAccentAbove articAccentBelow
articStaccatoAbove articStaccatoBelow articTenutoAbove articTenutoBelow articStaccatissimoAbove
articStaccatissimoBelow articMarcatoAbove articMarcatoBelow dynamicsText dynamicPiano dynamicMezzo
dynamicForte dynamicRinforzando dynamicSforzando dynamicZ dynamicNiente dynamicCrescendo
dynamicCrescendoSpanner dynamicDiminuendo dynamicDiminuendoSpanner dynamicCrescendoHairpin
dynamicDiminuendoHairpin dynamicNienteForHairpin repeatLeft repeatRight repeatDot volta voltaText
segno coda segnoSerpent repeatText repeat1Bar unisonoText unisonoContinuation tuplet0 tuplet1
tuplet2 tuplet3 tuplet4 tuplet5 tuplet6 tuplet7 tuplet8 tuplet9 tupletColon tupletBracket tuplet
tremolo1 tremolo2 tremolo3 tremolo4 tremolo5 tremoloBeam graceNoteSlashStemUp graceNoteSlashStemDown
fermataAbove fermataBelow ornamentTrill wiggleTrill ornamentTurn ornamentTurnInverted
ornamentShortTrill custos arpeggiato unclassified
""".split())

# §6.1 -- ordered class sets used as $NAME inside the rows.
CLASS_SETS = {
    "DURABLE": ("noteheadWhole noteheadHalf noteheadBlack restWhole restHalf restQuarter rest8th "
                "rest16th rest32nd rest64th rest128th rest256th rest512th rest1024th restLonga "
                "restDoubleWhole restHBar repeat1Bar").split(),
    "RESTS": ("restWhole restHalf restQuarter rest8th rest16th rest32nd rest64th rest128th "
              "rest256th rest512th rest1024th").split(),
    "NH_ALL": ("noteheadWhole noteheadHalf noteheadBlack noteheadWholeSmall noteheadHalfSmall "
               "noteheadBlackSmall").split(),
    "NH_STEM": "noteheadHalf noteheadBlack noteheadHalfSmall noteheadBlackSmall".split(),
    "NH_NORMAL": "noteheadWhole noteheadHalf noteheadBlack".split(),
    "NH_GRACE": "noteheadWholeSmall noteheadHalfSmall noteheadBlackSmall".split(),
    "PREC_GRACE": "noteheadBlackSmall noteheadWholeSmall noteheadHalfSmall".split(),
    "TS": ("timeSig0 timeSig1 timeSig2 timeSig3 timeSig4 timeSig5 timeSig6 timeSig7 timeSig8 "
           "timeSig9 timeSigCommon timeSigCutCommon timeSigSlash timeSigFractionalSlash "
           "timeSigPlus timeSigEquals").split(),
    "DYN": ("dynamicPiano dynamicMezzo dynamicForte dynamicRinforzando dynamicSforzando "
            "dynamicZ dynamicNiente").split(),
    "TUP": ("tupletColon tuplet0 tuplet1 tuplet2 tuplet3 tuplet4 tuplet5 tuplet6 tuplet7 "
            "tuplet8 tuplet9").split(),
}

SYNTAX_ROWS = """
staff{5}                                                                  | staffLine{1}
staff{6}                                                                  | staffSpace{1}
ANYOF($NH_ALL $RESTS)                                                     | augmentationDot{1,}
ANYOF($NH_STEM){1,2}                                                      | stem{1,}
ANYOF($NH_STEM){,1}                                                       | flag8thUp{1,}
ANYOF($NH_STEM){,1}                                                       | flag16thUp{1,}
ANYOF($NH_STEM){,1}                                                       | flag32ndUp{1,}
ANYOF($NH_STEM){,1}                                                       | flag64thUp{1,}
ANYOF($NH_STEM){,1}                                                       | flag128thUp{1,}
ANYOF($NH_STEM){,1}                                                       | flag256thUp{1,}
ANYOF($NH_STEM){,1}                                                       | flag512thUp{1,}
ANYOF($NH_STEM){,1}                                                       | flag1024thUp{1,}
ANYOF($NH_STEM){,1}                                                       | flag8thDown{1,}
ANYOF($NH_STEM){,1}                                                       | flag16thDown{1,}
ANYOF($NH_STEM){,1}                                                       | flag32ndDown{1,}
ANYOF($NH_STEM){,1}                                                       | flag64thDown{1,}
ANYOF($NH_STEM){,1}                                                       | flag128thDown{1,}
ANYOF($NH_STEM){,1}                                                       | flag256thDown{1,}
ANYOF($NH_STEM){,1}                                                       | flag512thDown{1,}
ANYOF($NH_STEM){,1}                                                       | flag1024thDown{1,}
ANYOF($NH_STEM)                                                           | beam{1,}
ANYOF($NH_ALL restWhole restHalf custos)                                  | legerLine{1,}
ANYOF($NH_ALL repeat1Bar)                                                 | slur{1,}
ANYOF($NH_ALL repeat1Bar)                                                 | tie{1,2}
ANYOF(restHBar restDoubleWhole restLonga restWhole)                       | restText{1,}
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalSharp{1}
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalFlat{1}
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalNatural{1}
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalDoubleSharp{1}
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalDoubleFlat{1}
gClef{1}                                                                  | staffLine
gClefChange{1}                                                            | staffLine
fClef{1}                                                                  | staffLine
fClefChange{1}                                                            | staffLine
cClef{1}                                                                  | staffLine
cClefChange{1}                                                            | staffLine
keySignature{1,}                                                          | ANYOF(accidentalSharp accidentalFlat accidentalNatural)
timeSignature{1,}                                                         | ANYOF($TS){1}
timeSigCommon                                                             | mensuralProlationCombiningDot{1}
ANYOF($NH_NORMAL)                                                         | lyricsText{1,}
lyricsText{0,1}                                                           | verseNumber{1}
ANYOF($NH_NORMAL)                                                         | lyricsUnisono{1,}
ANYOF($DURABLE)                                                           | tempoText{1}
ANYOF($DURABLE)                                                           | tempoRitardando{1,2}
tempoRitardando{0,1}                                                      | tempoRitardandoSpanner{1}
ANYOF($DURABLE)                                                           | tempoAccelerando{1,2}
tempoAccelerando{0,1}                                                     | tempoAccelerandoSpanner{1}
ANYOF($DURABLE)                                                           | tempoATempo{1}
ANYOF($DURABLE)                                                           | interpretationText{1}
ANYOF($DURABLE)                                                           | measureNumber{1}
ANYOF(measureSeparator staffGrouping repeatLeft repeatRight segnoSerpent) | barlineSingle{1,}
ANYOF(measureSeparator staffGrouping repeatLeft repeatRight segnoSerpent) | barlineHeavy{1,}
ANYOF(measureSeparator)                                                   | barlineFinal{1,}
ANYOF(barlineSingle barlineHeavy barlineFinal)                            | barlineWing{1,}
measureSeparator{1,}                                                      | ANYOF(barlineSingle barlineHeavy barlineFinal)
measureSeparator{1,}                                                      | staff
staffGrouping                                                             | brace{1}
staffGrouping                                                             | bracket{1}
staffGrouping{1,}                                                         | ANYOF(brace bracket barlineSingle barlineHeavy)
staffGrouping                                                             | staffGrouping{0,1}
staffGrouping{1,}                                                         | staff
ANYOF($NH_ALL)                                                            | articAccentAbove{1,}
ANYOF($NH_ALL)                                                            | articAccentBelow{1,}
ANYOF($NH_ALL)                                                            | articStaccatoAbove{1,}
ANYOF($NH_ALL)                                                            | articStaccatoBelow{1,}
ANYOF($NH_ALL)                                                            | articTenutoAbove{1,}
ANYOF($NH_ALL)                                                            | articTenutoBelow{1,}
ANYOF($NH_ALL)                                                            | articStaccatissimoAbove{1,}
ANYOF($NH_ALL)                                                            | articStaccatissimoBelow{1,}
ANYOF($NH_ALL)                                                            | articMarcatoAbove{1,}
ANYOF($NH_ALL)                                                            | articMarcatoBelow{1,}
ANYOF($DURABLE)                                                           | dynamicsText{1}
dynamicsText                                                              | dynamicPiano{1}
dynamicsText                                                              | dynamicMezzo{1}
dynamicsText                                                              | dynamicForte{1}
dynamicsText                                                              | dynamicRinforzando{1}
dynamicsText                                                              | dynamicSforzando{1}
dynamicsText                                                              | dynamicZ{1}
dynamicsText                                                              | dynamicNiente{1}
ANYOF($DURABLE)                                                           | dynamicCrescendo{1,2}
dynamicCrescendo{0,1}                                                     | dynamicCrescendoSpanner{1}
ANYOF($DURABLE)                                                           | dynamicDiminuendo{1,2}
dynamicDiminuendo{0,1}                                                    | dynamicDiminuendoSpanner{1}
ANYOF($DURABLE)                                                           | dynamicCrescendoHairpin{1,2}
ANYOF($DURABLE)                                                           | dynamicDiminuendoHairpin{1,2}
ANYOF(dynamicCrescendoHairpin dynamicDiminuendoHairpin)                   | dynamicNienteForHairpin{1}
repeatLeft{1,}                                                            | ANYOF(barlineSingle barlineHeavy barlineFinal)
repeatRight{1,}                                                           | ANYOF(barlineSingle barlineHeavy barlineFinal)
repeatLeft{1,}                                                            | repeatDot
repeatRight{1,}                                                           | repeatDot
ANYOF(repeatLeft repeatRight)                                             | repeatDot{1}
volta{1,}                                                                 | ANYOF($NH_NORMAL $RESTS)
volta{1}                                                                  | voltaText{1}
ANYOF($DURABLE)                                                           | segno{1}
ANYOF($DURABLE)                                                           | coda{1}
segnoSerpent                                                              | EACH(barlineSingle barlineHeavy)
ANYOF($DURABLE)                                                           | repeatText{1}
ANYOF($DURABLE)                                                           | unisonoText{0,1}
ANYOF($NH_NORMAL $RESTS)                                                  | tuplet{1,}
tuplet                                                                    | ANYOF(tupletBracket $TUP){1}
ANYOF($NH_NORMAL){,1}                                                     | tremolo1{1,}
ANYOF($NH_NORMAL){,1}                                                     | tremolo2{1,}
ANYOF($NH_NORMAL){,1}                                                     | tremolo3{1,}
ANYOF($NH_NORMAL){,1}                                                     | tremolo4{1,}
ANYOF($NH_NORMAL){,1}                                                     | tremolo5{1,}
ANYOF($NH_NORMAL)                                                         | tremoloBeam{1,}
ANYOF($NH_NORMAL)                                                         | noteheadWholeSmall{0,1}
ANYOF($NH_NORMAL)                                                         | noteheadHalfSmall{0,1}
ANYOF($NH_NORMAL)                                                         | noteheadBlackSmall{0,1}
ANYOF($NH_GRACE)                                                          | graceNoteSlashStemUp{1}
ANYOF($NH_GRACE)                                                          | graceNoteSlashStemDown{1}
ANYOF($DURABLE)                                                           | fermataAbove{1,}
ANYOF($DURABLE)                                                           | fermataBelow{1,}
ANYOF($NH_NORMAL)                                                         | ornamentTrill{1,}
ornamentTrill{0,1}                                                        | wiggleTrill{1}
ANYOF($NH_NORMAL)                                                         | ornamentTurn{1,}
ANYOF($NH_NORMAL)                                                         | ornamentTurnInverted{1,}
ANYOF($NH_NORMAL)                                                         | ornamentShortTrill{1,}
ANYOF($NH_NORMAL)                                                         | arpeggiato{1,}
ANYOF($NH_NORMAL)                                                         | arpeggiatoUp{1,}
ANYOF($NH_NORMAL)                                                         | arpeggiatoDown{1,}
noteheadWhole{1}                                                          | staff
noteheadHalf{1}                                                           | staff
noteheadBlack{1}                                                          | staff
noteheadWholeSmall{1}                                                     | staff
noteheadHalfSmall{1}                                                      | staff
noteheadBlackSmall{1}                                                     | staff
restWhole{1}                                                              | staff
restHalf{1}                                                               | staff
restQuarter{1}                                                            | staff
rest8th{1}                                                                | staff
rest16th{1}                                                               | staff
rest32nd{1}                                                               | staff
rest64th{1}                                                               | staff
rest128th{1}                                                              | staff
rest256th{1}                                                              | staff
rest512th{1}                                                              | staff
rest1024th{1}                                                             | staff
restLonga{1}                                                              | staff
restDoubleWhole{1}                                                        | staff
restHBar{1}                                                               | staff
gClef{1}                                                                  | staff
gClefChange{1}                                                            | staff
fClef{1}                                                                  | staff
fClefChange{1}                                                            | staff
cClef{1}                                                                  | staff
cClefChange{1}                                                            | staff
timeSignature{1}                                                          | staff
keySignature{1}                                                           | staff
repeat1Bar{1}                                                             | staff
unisonoText{1}                                                            | staff
unisonoContinuation{1}                                                    | staff
systemDivider{1}                                                          | staff
custos{1}                                                                 | staff
noteheadWhole{1,}                                                         | ANYOF(staffLine staffSpace legerLine)
noteheadHalf{1,}                                                          | ANYOF(staffLine staffSpace legerLine)
noteheadBlack{1,}                                                         | ANYOF(staffLine staffSpace legerLine)
noteheadWholeSmall{1,}                                                    | ANYOF(staffLine staffSpace legerLine)
noteheadHalfSmall{1,}                                                     | ANYOF(staffLine staffSpace legerLine)
noteheadBlackSmall{1,}                                                    | ANYOF(staffLine staffSpace legerLine)
custos{1,}                                                                | ANYOF(staffLine staffSpace legerLine)
noteheadWhole{,1}                                                         | EACH(staffLine staffSpace)
noteheadHalf{,1}                                                          | EACH(staffLine staffSpace)
noteheadBlack{,1}                                                         | EACH(staffLine staffSpace)
noteheadWholeSmall{,1}                                                    | EACH(staffLine staffSpace)
noteheadHalfSmall{,1}                                                     | EACH(staffLine staffSpace)
noteheadBlackSmall{,1}                                                    | EACH(staffLine staffSpace)
custos{,1}                                                                | EACH(staffLine staffSpace)
"""

PRECEDENCE_ROWS = """
EACH($TS){,1}                                                             | ANYOF($TS)
ANYOF($TS)                                                                | EACH($TS){,1}
EACH(lyricsText lyricsUnisono){,1}                                        | ANYOF(lyricsText lyricsUnisono)
ANYOF(lyricsText lyricsUnisono)                                           | EACH(lyricsText lyricsUnisono){,1}
EACH($DYN){,1}                                                            | ANYOF($DYN)
ANYOF($DYN)                                                               | EACH($DYN){,1}
EACH($TUP){,1}                                                            | ANYOF($TUP)
ANYOF($TUP)                                                               | EACH($TUP){,1}
EACH($DURABLE custos)                                                     | EACH($DURABLE custos)
EACH($PREC_GRACE)                                                         | EACH($PREC_GRACE)
"""


_SIDE = re.compile(r"^(?:(?P<kind>ANYOF|EACH)\((?P<items>[^)]*)\)|(?P<cls>[A-Za-z0-9_]+))"
                   r"(?:\{(?P<card>[0-9]*(?:,[0-9]*)?)\})?$")


class Check:
    """One directed cardinality check (§4.2).

    ``direction`` is ``"IN"`` or ``"OUT"``; ``owner`` the class whose nodes are checked;
    ``counted`` the ordered tuple of counted neighbour classes (``counted_set`` the same
    as a frozenset); ``min``/``max`` the bounds (``max`` may be ``INF``); ``any`` is True
    for an ANYOF group (rendered with ``ANYOF(...)``). ``index`` is the expansion index.
    """

    __slots__ = ("direction", "owner", "counted", "counted_set", "min", "max", "any",
                 "index", "rule", "quoted", "joined")

    def __init__(self, direction: str, owner: str, counted: list[str], lo: int,
                 hi: int | float, is_any: bool, index: int) -> None:
        self.direction = direction
        self.owner = owner
        self.counted = tuple(counted)
        self.counted_set = frozenset(counted)
        self.min = lo
        self.max = hi
        self.any = is_any
        self.index = index
        k = f"{{min={lo}, max={'inf' if hi == INF else hi}}}"
        if direction == "OUT":
            if is_any:
                self.rule = f"{owner}{k} | ANYOF({', '.join(self.counted)})"
            else:
                self.rule = f"{owner}{k} | {self.counted[0]}"
        else:
            if is_any:
                self.rule = f"ANYOF({', '.join(self.counted)}) | {owner}{k}"
            else:
                self.rule = f"{self.counted[0]} | {owner}{k}"
        self.quoted = ", ".join(f"'{c}'" for c in self.counted)
        self.joined = ", ".join(self.counted)

    def can_fail(self) -> bool:
        return self.min > 0 or self.max != INF

    def __repr__(self):
        return f"Check({self.direction} {self.rule})"


def _parse_card(text):
    if text is None:
        return 0, INF
    if "," not in text:
        n = int(text)
        return n, n
    lo, hi = text.split(",")
    return (int(lo) if lo else 0), (int(hi) if hi else INF)


def _parse_side(text):
    """-> list of groups ``(is_any, [classes], min, max)``; EACH gives one group per class."""
    m = _SIDE.match(text.strip())
    if m is None:
        raise ValueError(f"bad grammar side: {text!r}")
    lo, hi = _parse_card(m.group("card"))
    if m.group("cls"):
        return [(False, [m.group("cls")], lo, hi)]
    classes = []
    for item in m.group("items").split():
        if item.startswith("$"):
            classes.extend(CLASS_SETS[item[1:]])
        else:
            classes.append(item)
    if m.group("kind") == "EACH":
        return [(False, [c], lo, hi) for c in classes]
    return [(True, classes, lo, hi)]


class Grammar:
    """A compiled grammar: ``allowed`` pairs and failable ``checks`` per owner class."""

    def __init__(self, name: str, rows_text: str) -> None:
        self.name = name
        allowed = {}
        expanded = []

        def add(direction, owner, counted, lo, hi, is_any):
            expanded.append(Check(direction, owner, counted, lo, hi, is_any, len(expanded)))

        for row in rows_text.strip().splitlines():
            left, right = row.split("|")
            parents = _parse_side(left)
            children = _parse_side(right)
            for p_any, p_cls, p_lo, p_hi in parents:
                for c_any, c_cls, c_lo, c_hi in children:
                    for a in p_cls:
                        allowed.setdefault(a, set()).update(c_cls)
                    if not p_any and not c_any:
                        a, b = p_cls[0], c_cls[0]
                        add("OUT", a, [b], p_lo, p_hi, False)
                        add("IN", b, [a], c_lo, c_hi, False)
                    elif not p_any and c_any:
                        a = p_cls[0]
                        add("OUT", a, c_cls, p_lo, p_hi, True)
                        for b in c_cls:
                            add("IN", b, [a], c_lo, c_hi, False)
                    elif p_any and not c_any:
                        b = c_cls[0]
                        add("IN", b, p_cls, c_lo, c_hi, True)
                        for a in p_cls:
                            add("OUT", a, [b], p_lo, p_hi, False)
                    else:
                        raise ValueError(f"ANYOF | ANYOF is not allowed: {row!r}")
        self.allowed = dict((k, frozenset(v)) for k, v in allowed.items())
        self.expanded = expanded
        checks = {}
        for chk in expanded:
            if not chk.can_fail():
                continue
            if chk.owner not in ALPHABET:
                # §4.4: nodes of unknown classes have no checks -- this drops the checks
                # owned by the three grammar-only classes (arpeggiatoUp, arpeggiatoDown,
                # mensuralProlationCombiningDot); their links still count as allowed
                continue
            ins, outs = checks.setdefault(chk.owner, ([], []))
            (ins if chk.direction == "IN" else outs).append(chk)
        self.checks = dict((k, (tuple(v[0]), tuple(v[1]))) for k, v in checks.items())

    def is_allowed(self, parent: str, child: str) -> bool:
        kids = self.allowed.get(parent)
        return kids is not None and child in kids


SYNTAX = Grammar("syntax", SYNTAX_ROWS)
PRECEDENCE = Grammar("precedence", PRECEDENCE_ROWS)
