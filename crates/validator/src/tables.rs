//! Grammar tables, verbatim from `mstudio/validation/grammar.py` (validation spec §4-§6).

/// The MuNG 2.0 alphabet (§5), whitespace separated.
pub(crate) const ALPHABET: &str = "staffLine staffSpace staff noteheadWhole noteheadHalf noteheadBlack noteheadBlackSmall noteheadWholeSmall noteheadHalfSmall augmentationDot stem flag8thUp flag16thUp flag32ndUp flag64thUp flag128thUp flag256thUp flag512thUp flag1024thUp flag8thDown flag16thDown flag32ndDown flag64thDown flag128thDown flag256thDown flag512thDown flag1024thDown beam legerLine slur tie restWhole restHalf restQuarter rest8th rest16th rest32nd rest64th rest128th rest256th rest512th rest1024th restLonga restDoubleWhole restHBar restText accidentalSharp accidentalFlat accidentalNatural accidentalDoubleSharp accidentalDoubleFlat gClef gClefChange fClef fClefChange cClef cClefChange keySignature timeSig0 timeSig1 timeSig2 timeSig3 timeSig4 timeSig5 timeSig6 timeSig7 timeSig8 timeSig9 timeSigCommon timeSigCutCommon timeSigSlash timeSigFractionalSlash timeSigPlus timeSigEquals timeSignature lyricsText verseNumber lyricsUnisono tempoText tempoRitardando tempoRitardandoSpanner tempoAccelerando tempoAccelerandoSpanner tempoATempo interpretationText metadataText measureNumber pageNumber otherText barlineSingle barlineHeavy barlineFinal barlineWing measureSeparator brace bracket staffGrouping systemDivider articAccentAbove articAccentBelow articStaccatoAbove articStaccatoBelow articTenutoAbove articTenutoBelow articStaccatissimoAbove articStaccatissimoBelow articMarcatoAbove articMarcatoBelow dynamicsText dynamicPiano dynamicMezzo dynamicForte dynamicRinforzando dynamicSforzando dynamicZ dynamicNiente dynamicCrescendo dynamicCrescendoSpanner dynamicDiminuendo dynamicDiminuendoSpanner dynamicCrescendoHairpin dynamicDiminuendoHairpin dynamicNienteForHairpin repeatLeft repeatRight repeatDot volta voltaText segno coda segnoSerpent repeatText repeat1Bar unisonoText unisonoContinuation tuplet0 tuplet1 tuplet2 tuplet3 tuplet4 tuplet5 tuplet6 tuplet7 tuplet8 tuplet9 tupletColon tupletBracket tuplet tremolo1 tremolo2 tremolo3 tremolo4 tremolo5 tremoloBeam graceNoteSlashStemUp graceNoteSlashStemDown fermataAbove fermataBelow ornamentTrill wiggleTrill ornamentTurn ornamentTurnInverted ornamentShortTrill custos arpeggiato unclassified";

/// The ordered class sets used as `$NAME` in the rows (§6.1).
pub(crate) const CLASS_SETS: &[(&str, &str)] = &[
    (
        "DURABLE",
        "noteheadWhole noteheadHalf noteheadBlack restWhole restHalf restQuarter rest8th rest16th rest32nd rest64th rest128th rest256th rest512th rest1024th restLonga restDoubleWhole restHBar repeat1Bar",
    ),
    (
        "RESTS",
        "restWhole restHalf restQuarter rest8th rest16th rest32nd rest64th rest128th rest256th rest512th rest1024th",
    ),
    ("NH_ALL", "noteheadWhole noteheadHalf noteheadBlack noteheadWholeSmall noteheadHalfSmall noteheadBlackSmall"),
    ("NH_STEM", "noteheadHalf noteheadBlack noteheadHalfSmall noteheadBlackSmall"),
    ("NH_NORMAL", "noteheadWhole noteheadHalf noteheadBlack"),
    ("NH_GRACE", "noteheadWholeSmall noteheadHalfSmall noteheadBlackSmall"),
    ("PREC_GRACE", "noteheadBlackSmall noteheadWholeSmall noteheadHalfSmall"),
    (
        "TS",
        "timeSig0 timeSig1 timeSig2 timeSig3 timeSig4 timeSig5 timeSig6 timeSig7 timeSig8 timeSig9 timeSigCommon timeSigCutCommon timeSigSlash timeSigFractionalSlash timeSigPlus timeSigEquals",
    ),
    ("DYN", "dynamicPiano dynamicMezzo dynamicForte dynamicRinforzando dynamicSforzando dynamicZ dynamicNiente"),
    ("TUP", "tupletColon tuplet0 tuplet1 tuplet2 tuplet3 tuplet4 tuplet5 tuplet6 tuplet7 tuplet8 tuplet9"),
];

/// `SYNTAX_ROWS`: one row per line, `parent side | child side`.
pub(crate) const SYNTAX_ROWS: &str = "\
staff{5}                                                                  | staffLine{1}\n\
staff{6}                                                                  | staffSpace{1}\n\
ANYOF($NH_ALL $RESTS)                                                     | augmentationDot{1,}\n\
ANYOF($NH_STEM){1,2}                                                      | stem{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag8thUp{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag16thUp{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag32ndUp{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag64thUp{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag128thUp{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag256thUp{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag512thUp{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag1024thUp{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag8thDown{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag16thDown{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag32ndDown{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag64thDown{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag128thDown{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag256thDown{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag512thDown{1,}\n\
ANYOF($NH_STEM){,1}                                                       | flag1024thDown{1,}\n\
ANYOF($NH_STEM)                                                           | beam{1,}\n\
ANYOF($NH_ALL restWhole restHalf custos)                                  | legerLine{1,}\n\
ANYOF($NH_ALL repeat1Bar)                                                 | slur{1,}\n\
ANYOF($NH_ALL repeat1Bar)                                                 | tie{1,2}\n\
ANYOF(restHBar restDoubleWhole restLonga restWhole)                       | restText{1,}\n\
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalSharp{1}\n\
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalFlat{1}\n\
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalNatural{1}\n\
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalDoubleSharp{1}\n\
ANYOF(keySignature $NH_ALL ornamentTrill custos)                          | accidentalDoubleFlat{1}\n\
gClef{1}                                                                  | staffLine\n\
gClefChange{1}                                                            | staffLine\n\
fClef{1}                                                                  | staffLine\n\
fClefChange{1}                                                            | staffLine\n\
cClef{1}                                                                  | staffLine\n\
cClefChange{1}                                                            | staffLine\n\
keySignature{1,}                                                          | ANYOF(accidentalSharp accidentalFlat accidentalNatural)\n\
timeSignature{1,}                                                         | ANYOF($TS){1}\n\
timeSigCommon                                                             | mensuralProlationCombiningDot{1}\n\
ANYOF($NH_NORMAL)                                                         | lyricsText{1,}\n\
lyricsText{0,1}                                                           | verseNumber{1}\n\
ANYOF($NH_NORMAL)                                                         | lyricsUnisono{1,}\n\
ANYOF($DURABLE)                                                           | tempoText{1}\n\
ANYOF($DURABLE)                                                           | tempoRitardando{1,2}\n\
tempoRitardando{0,1}                                                      | tempoRitardandoSpanner{1}\n\
ANYOF($DURABLE)                                                           | tempoAccelerando{1,2}\n\
tempoAccelerando{0,1}                                                     | tempoAccelerandoSpanner{1}\n\
ANYOF($DURABLE)                                                           | tempoATempo{1}\n\
ANYOF($DURABLE)                                                           | interpretationText{1}\n\
ANYOF($DURABLE)                                                           | measureNumber{1}\n\
ANYOF(measureSeparator staffGrouping repeatLeft repeatRight segnoSerpent) | barlineSingle{1,}\n\
ANYOF(measureSeparator staffGrouping repeatLeft repeatRight segnoSerpent) | barlineHeavy{1,}\n\
ANYOF(measureSeparator)                                                   | barlineFinal{1,}\n\
ANYOF(barlineSingle barlineHeavy barlineFinal)                            | barlineWing{1,}\n\
measureSeparator{1,}                                                      | ANYOF(barlineSingle barlineHeavy barlineFinal)\n\
measureSeparator{1,}                                                      | staff\n\
staffGrouping                                                             | brace{1}\n\
staffGrouping                                                             | bracket{1}\n\
staffGrouping{1,}                                                         | ANYOF(brace bracket barlineSingle barlineHeavy)\n\
staffGrouping                                                             | staffGrouping{0,1}\n\
staffGrouping{1,}                                                         | staff\n\
ANYOF($NH_ALL)                                                            | articAccentAbove{1,}\n\
ANYOF($NH_ALL)                                                            | articAccentBelow{1,}\n\
ANYOF($NH_ALL)                                                            | articStaccatoAbove{1,}\n\
ANYOF($NH_ALL)                                                            | articStaccatoBelow{1,}\n\
ANYOF($NH_ALL)                                                            | articTenutoAbove{1,}\n\
ANYOF($NH_ALL)                                                            | articTenutoBelow{1,}\n\
ANYOF($NH_ALL)                                                            | articStaccatissimoAbove{1,}\n\
ANYOF($NH_ALL)                                                            | articStaccatissimoBelow{1,}\n\
ANYOF($NH_ALL)                                                            | articMarcatoAbove{1,}\n\
ANYOF($NH_ALL)                                                            | articMarcatoBelow{1,}\n\
ANYOF($DURABLE)                                                           | dynamicsText{1}\n\
dynamicsText                                                              | dynamicPiano{1}\n\
dynamicsText                                                              | dynamicMezzo{1}\n\
dynamicsText                                                              | dynamicForte{1}\n\
dynamicsText                                                              | dynamicRinforzando{1}\n\
dynamicsText                                                              | dynamicSforzando{1}\n\
dynamicsText                                                              | dynamicZ{1}\n\
dynamicsText                                                              | dynamicNiente{1}\n\
ANYOF($DURABLE)                                                           | dynamicCrescendo{1,2}\n\
dynamicCrescendo{0,1}                                                     | dynamicCrescendoSpanner{1}\n\
ANYOF($DURABLE)                                                           | dynamicDiminuendo{1,2}\n\
dynamicDiminuendo{0,1}                                                    | dynamicDiminuendoSpanner{1}\n\
ANYOF($DURABLE)                                                           | dynamicCrescendoHairpin{1,2}\n\
ANYOF($DURABLE)                                                           | dynamicDiminuendoHairpin{1,2}\n\
ANYOF(dynamicCrescendoHairpin dynamicDiminuendoHairpin)                   | dynamicNienteForHairpin{1}\n\
repeatLeft{1,}                                                            | ANYOF(barlineSingle barlineHeavy barlineFinal)\n\
repeatRight{1,}                                                           | ANYOF(barlineSingle barlineHeavy barlineFinal)\n\
repeatLeft{1,}                                                            | repeatDot\n\
repeatRight{1,}                                                           | repeatDot\n\
ANYOF(repeatLeft repeatRight)                                             | repeatDot{1}\n\
volta{1,}                                                                 | ANYOF($NH_NORMAL $RESTS)\n\
volta{1}                                                                  | voltaText{1}\n\
ANYOF($DURABLE)                                                           | segno{1}\n\
ANYOF($DURABLE)                                                           | coda{1}\n\
segnoSerpent                                                              | EACH(barlineSingle barlineHeavy)\n\
ANYOF($DURABLE)                                                           | repeatText{1}\n\
ANYOF($DURABLE)                                                           | unisonoText{0,1}\n\
ANYOF($NH_NORMAL $RESTS)                                                  | tuplet{1,}\n\
tuplet                                                                    | ANYOF(tupletBracket $TUP){1}\n\
ANYOF($NH_NORMAL){,1}                                                     | tremolo1{1,}\n\
ANYOF($NH_NORMAL){,1}                                                     | tremolo2{1,}\n\
ANYOF($NH_NORMAL){,1}                                                     | tremolo3{1,}\n\
ANYOF($NH_NORMAL){,1}                                                     | tremolo4{1,}\n\
ANYOF($NH_NORMAL){,1}                                                     | tremolo5{1,}\n\
ANYOF($NH_NORMAL)                                                         | tremoloBeam{1,}\n\
ANYOF($NH_NORMAL)                                                         | noteheadWholeSmall{0,1}\n\
ANYOF($NH_NORMAL)                                                         | noteheadHalfSmall{0,1}\n\
ANYOF($NH_NORMAL)                                                         | noteheadBlackSmall{0,1}\n\
ANYOF($NH_GRACE)                                                          | graceNoteSlashStemUp{1}\n\
ANYOF($NH_GRACE)                                                          | graceNoteSlashStemDown{1}\n\
ANYOF($DURABLE)                                                           | fermataAbove{1,}\n\
ANYOF($DURABLE)                                                           | fermataBelow{1,}\n\
ANYOF($NH_NORMAL)                                                         | ornamentTrill{1,}\n\
ornamentTrill{0,1}                                                        | wiggleTrill{1}\n\
ANYOF($NH_NORMAL)                                                         | ornamentTurn{1,}\n\
ANYOF($NH_NORMAL)                                                         | ornamentTurnInverted{1,}\n\
ANYOF($NH_NORMAL)                                                         | ornamentShortTrill{1,}\n\
ANYOF($NH_NORMAL)                                                         | arpeggiato{1,}\n\
ANYOF($NH_NORMAL)                                                         | arpeggiatoUp{1,}\n\
ANYOF($NH_NORMAL)                                                         | arpeggiatoDown{1,}\n\
noteheadWhole{1}                                                          | staff\n\
noteheadHalf{1}                                                           | staff\n\
noteheadBlack{1}                                                          | staff\n\
noteheadWholeSmall{1}                                                     | staff\n\
noteheadHalfSmall{1}                                                      | staff\n\
noteheadBlackSmall{1}                                                     | staff\n\
restWhole{1}                                                              | staff\n\
restHalf{1}                                                               | staff\n\
restQuarter{1}                                                            | staff\n\
rest8th{1}                                                                | staff\n\
rest16th{1}                                                               | staff\n\
rest32nd{1}                                                               | staff\n\
rest64th{1}                                                               | staff\n\
rest128th{1}                                                              | staff\n\
rest256th{1}                                                              | staff\n\
rest512th{1}                                                              | staff\n\
rest1024th{1}                                                             | staff\n\
restLonga{1}                                                              | staff\n\
restDoubleWhole{1}                                                        | staff\n\
restHBar{1}                                                               | staff\n\
gClef{1}                                                                  | staff\n\
gClefChange{1}                                                            | staff\n\
fClef{1}                                                                  | staff\n\
fClefChange{1}                                                            | staff\n\
cClef{1}                                                                  | staff\n\
cClefChange{1}                                                            | staff\n\
timeSignature{1}                                                          | staff\n\
keySignature{1}                                                           | staff\n\
repeat1Bar{1}                                                             | staff\n\
unisonoText{1}                                                            | staff\n\
unisonoContinuation{1}                                                    | staff\n\
systemDivider{1}                                                          | staff\n\
custos{1}                                                                 | staff\n\
noteheadWhole{1,}                                                         | ANYOF(staffLine staffSpace legerLine)\n\
noteheadHalf{1,}                                                          | ANYOF(staffLine staffSpace legerLine)\n\
noteheadBlack{1,}                                                         | ANYOF(staffLine staffSpace legerLine)\n\
noteheadWholeSmall{1,}                                                    | ANYOF(staffLine staffSpace legerLine)\n\
noteheadHalfSmall{1,}                                                     | ANYOF(staffLine staffSpace legerLine)\n\
noteheadBlackSmall{1,}                                                    | ANYOF(staffLine staffSpace legerLine)\n\
custos{1,}                                                                | ANYOF(staffLine staffSpace legerLine)\n\
noteheadWhole{,1}                                                         | EACH(staffLine staffSpace)\n\
noteheadHalf{,1}                                                          | EACH(staffLine staffSpace)\n\
noteheadBlack{,1}                                                         | EACH(staffLine staffSpace)\n\
noteheadWholeSmall{,1}                                                    | EACH(staffLine staffSpace)\n\
noteheadHalfSmall{,1}                                                     | EACH(staffLine staffSpace)\n\
noteheadBlackSmall{,1}                                                    | EACH(staffLine staffSpace)\n\
custos{,1}                                                                | EACH(staffLine staffSpace)\n\
";

/// `PRECEDENCE_ROWS`: one row per line, `parent side | child side`.
pub(crate) const PRECEDENCE_ROWS: &str = "\
EACH($TS){,1}                                                             | ANYOF($TS)\n\
ANYOF($TS)                                                                | EACH($TS){,1}\n\
EACH(lyricsText lyricsUnisono){,1}                                        | ANYOF(lyricsText lyricsUnisono)\n\
ANYOF(lyricsText lyricsUnisono)                                           | EACH(lyricsText lyricsUnisono){,1}\n\
EACH($DYN){,1}                                                            | ANYOF($DYN)\n\
ANYOF($DYN)                                                               | EACH($DYN){,1}\n\
EACH($TUP){,1}                                                            | ANYOF($TUP)\n\
ANYOF($TUP)                                                               | EACH($TUP){,1}\n\
EACH($DURABLE custos)                                                     | EACH($DURABLE custos)\n\
EACH($PREC_GRACE)                                                         | EACH($PREC_GRACE)\n\
";
