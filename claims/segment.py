"""Split an article body into claim spans.

Every non-whitespace character of the body lands in exactly one span, so a
claim's offsets always point back into the text as imported. The body is read
line by line (a newline separates paragraphs in pasted articles, a blank line
in wire copy); a line is either furniture (headline, dateline, byline, a "Read
also:" list and its items, a photo credit, a bibliography), kept as a
`not_a_claim` span, or prose, cut into sentences by the rules below, which
were chosen over pySBD, sentencex, blingfire and syntok by measurement
(docs/text-engine.md). With `split_compound`, a sentence that gives two
statements to two sources ("X reported A, while Y indicated that B") becomes
two claims, since each needs its own source label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from claims import lexicon

CLAIM = "claim"
NOT_A_CLAIM = "not_a_claim"


@dataclass(frozen=True, slots=True)
class Segment:
    start: int
    end: int
    kind: str


_LINE = re.compile(r"[^\n\r]+")
_TOKEN = re.compile(r"\S+")
_CLOSERS = "\"'”’»)]"
_OPENERS = "\"'“‘«([¿¡"
_QUOTE_OPENERS = "\"'“‘«¿¡"
_END_CHARS = frozenset(".!?…]")
# A heading or caption ends without sentence punctuation; a line ending in a
# colon introduces what follows, so it is prose.
_TERMINAL = frozenset(".!?…:;,\"'”’»)")
_MAX_HEADING_WORDS = 25

_DATELINE = re.compile(
    r"(?:(?:updated|published|posted|last updated)\s*:?\s*)?"
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
    r"(?:\d{1,2}\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"\s*(?:\d{1,2}(?:st|nd|rd|th)?,?\s*)?\d{4}"
    r"(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?\s*(?:[A-Z]{2,4})?)?\.?",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?\.?")
_BYLINE = re.compile(
    r"(?:by|written by|reporting by|reported by|words by|text by|edited by)\s+[A-Z]",
    re.IGNORECASE,
)
_BULLET_ITEM = re.compile(r"[-–—•*·▪◦‣⁃]\s*\S|\d{1,3}[.)]\s+\S")
_CREDIT_LABEL = "|".join(re.escape(label) for label in lexicon.CREDIT_LABELS)
# A credit inside a line, as in a caption followed by its credit: "Playstation
# VR demo Image: Nick Moreau."
_CREDIT_INSIDE = re.compile(rf"(?<=\S)\s+(?=(?:{_CREDIT_LABEL})\s*:\s*\S)")
_CREDIT_START = re.compile(rf"(?:\(?\s*)(?:{_CREDIT_LABEL})\s*:\s*\S")
# An enumeration marker: "1.", "2.)", "3)", "a.", "•", "• 9.", "⁃10.".
_MARKER = re.compile(r"([•⁃▪◦‣])?(?:(\d{1,3}|[a-zA-Z])(\.\)|\.|\)))?")
_ENUMERATION_START = re.compile(r"[•⁃▪◦‣]|(?:\d{1,3}|[a-z])(?:\.\)|\.|\))\s")
_COMPOUND_JOINT = re.compile(r",\s+(?:while|whereas)\s+|;\s+")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")


def split(text: str, *, split_compound: bool = True) -> list[Segment]:
    """Cut `text` into ordered, non-overlapping, whitespace-trimmed spans."""
    segments: list[Segment] = []
    list_kind: str | None = None  # "links" or "bibliography" while inside one
    for line in _LINE.finditer(text):
        start, end = _trim(text, line.start(), line.end())
        if start == end:
            continue
        line_text = text[start:end]
        heading = _list_heading(line_text)
        if heading:
            list_kind = heading
            segments.append(Segment(start, end, NOT_A_CLAIM))
            continue
        if list_kind == "bibliography" or (list_kind == "links" and _BULLET_ITEM.match(line_text)):
            segments.append(Segment(start, end, NOT_A_CLAIM))
            continue
        list_kind = None
        if _is_furniture_line(line_text):
            segments.append(Segment(start, end, NOT_A_CLAIM))
            continue
        for piece_start, piece_end in _credit_pieces(text, start, end):
            if _CREDIT_START.match(text, piece_start, piece_end):
                segments.append(Segment(piece_start, piece_end, NOT_A_CLAIM))
            elif piece_end == end and _is_heading(text[piece_start:piece_end]):
                segments.append(Segment(piece_start, piece_end, NOT_A_CLAIM))
            else:
                for s_start, s_end in sentence_spans(text, piece_start, piece_end):
                    pieces = (
                        _compound_spans(text, s_start, s_end)
                        if split_compound
                        else [(s_start, s_end)]
                    )
                    segments.extend(Segment(a, b, CLAIM) for a, b in pieces)
    return segments


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences of one paragraph `text[start:end]`, as trimmed spans."""
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text, start, end)]
    if not tokens:
        return []
    cuts = set(_enumeration_cuts(text, tokens))
    after_marker = {i + 1 for i in cuts} | {0}
    count = len(tokens)
    for i in range(count - 1):
        tok_start, tok_end = tokens[i]
        if text[tok_end - 1] not in _END_CHARS and text[tok_end - 1] not in _CLOSERS:
            continue
        if _MARKER.fullmatch(text, tok_start, tok_end) and (
            i in after_marker or _is_bare_bullet(text, tokens[i - 1])
        ):
            continue
        if _ends_sentence(text, tokens, i):
            cuts.add(i)
    spans = []
    first = 0
    for i in sorted(cuts):
        if i >= count - 1:
            continue
        spans.append((tokens[first][0], tokens[i][1]))
        first = i + 1
    spans.append((tokens[first][0], tokens[-1][1]))
    return _attach_quote_credits(text, spans)


def _ends_sentence(text: str, tokens: list[tuple[int, int]], i: int) -> bool:
    tok_start, tok_end = tokens[i]
    core_end = tok_end
    while core_end > tok_start and text[core_end - 1] in _CLOSERS:
        core_end -= 1
    core = text[tok_start:core_end]
    if not core:
        return False
    if core.endswith(("[...]", "[…]")):
        # An elision closes a sentence only when a new one visibly starts.
        return _opens_sentence(text, tokens, i + 1, digits=False)
    last = core[-1]
    if last in "!?":
        return _opens_sentence(text, tokens, i + 1)
    if last not in ".…":
        return False
    dots = len(core) - len(core.rstrip(".…"))
    word = core[: len(core) - dots]
    if not word:
        return _ends_spaced_ellipsis(text, tokens, i)
    if dots == 1 and _spaced_ellipsis_follows(text, tokens, i):
        # "compounds. . . . The": the period ends the sentence and the spaced
        # ellipsis opens the next one.
        return _opens_sentence(text, tokens, i + 4)
    if not _opens_sentence(text, tokens, i + 1):
        return False
    if dots >= 2 or core.endswith("…"):
        return dots >= 4 or _opens_sentence(text, tokens, i + 1, digits=False)
    lowered = word.lower().lstrip(_OPENERS)
    if lowered in lexicon.TITLE_ABBREVIATIONS:
        return False
    if lowered in lexicon.ABBREVIATIONS or _is_initialism(word):
        nxt = text[tokens[i + 1][0] : tokens[i + 1][1]].lstrip(_OPENERS)
        return nxt.rstrip(".,;:!?\"'”’").lower() in lexicon.SENTENCE_STARTERS
    return True


def _opens_sentence(
    text: str, tokens: list[tuple[int, int]], j: int, *, digits: bool = True
) -> bool:
    """Whether token `j` can open a sentence: a capital (or a digit), maybe after a quote."""
    if j >= len(tokens):
        return False
    # A parenthesis after a full stop is a citation or an aside ("(Smith 55)"),
    # not the start of a sentence.
    word = text[tokens[j][0] : tokens[j][1]].lstrip(_QUOTE_OPENERS)
    if not word:
        return False
    return word[0].isupper() or (digits and word[0].isdigit())


def _is_bare_bullet(text: str, token: tuple[int, int]) -> bool:
    return token[1] - token[0] == 1 and text[token[0]] in "•⁃▪◦‣"


def _is_initialism(word: str) -> bool:
    """ "U.S", "D.C", "a.m", or a lone initial such as the "E" of "Jonas E. Smith"."""
    bare = word.lstrip(_OPENERS)
    if len(bare) == 1:
        return bare.isalpha()
    return len(bare) <= 8 and bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", bare))


def _spaced_ellipsis_follows(text: str, tokens: list[tuple[int, int]], i: int) -> bool:
    run = 0
    for tok_start, tok_end in tokens[i + 1 : i + 4]:
        if text[tok_start:tok_end] != ".":
            break
        run += 1
    return run == 3


def _ends_spaced_ellipsis(text: str, tokens: list[tuple[int, int]], i: int) -> bool:
    """A bare "." token: ". . ." is an ellipsis inside a sentence, ". . . ." ends one."""
    if text[tokens[i][0] : tokens[i][1]].rstrip(_CLOSERS) != ".":
        return False
    run = 0
    j = i
    while j >= 0 and text[tokens[j][0] : tokens[j][1]].rstrip(_CLOSERS) == ".":
        run += 1
        j -= 1
    return run >= 4


def _enumeration_cuts(text: str, tokens: list[tuple[int, int]]) -> list[int]:
    """Token indexes after which an inline list item ends ("1. One 2. Two")."""
    first = _MARKER.fullmatch(text, tokens[0][0], tokens[0][1])
    if not first or not (first.group(1) or first.group(3)):
        return []
    bullet, value, punct = first.groups()
    if value is None and len(tokens) > 1:
        # "• 9. The first item": the bullet and the number are one marker.
        nested = _MARKER.fullmatch(text, tokens[1][0], tokens[1][1])
        if nested and nested.group(2) and nested.group(3):
            value, punct = nested.group(2), nested.group(3)
    cuts = []
    expected = _next_marker_value(value)
    for i in range(1, len(tokens)):
        match = _MARKER.fullmatch(text, tokens[i][0], tokens[i][1])
        if not match or match.group(0) == "":
            continue
        if bullet and match.group(1) == bullet:
            cuts.append(i - 1)
        elif (
            not bullet
            and value is not None
            and match.group(2) == expected
            and match.group(3) == punct
        ):
            cuts.append(i - 1)
            expected = _next_marker_value(expected)
    return cuts


def _next_marker_value(value: str | None) -> str | None:
    if value is None:
        return None
    if value.isdigit():
        return str(int(value) + 1)
    return chr(ord(value) + 1)


def _attach_quote_credits(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keep an unpunctuated tail after a closed quotation with the quotation.

    `"... a long game." Anonymous blogger` names who said the quote; it is
    not a sentence of its own.
    """
    if len(spans) < 2:
        return spans
    last_start, last_end = spans[-1]
    prev_end = spans[-2][1]
    if text[last_start:last_end].rstrip(_CLOSERS)[-1:] in (".", "!", "?", "…", ":"):
        return spans
    if text[prev_end - 1] not in "\"”’'":
        return spans
    return [*spans[:-2], (spans[-2][0], last_end)]


def _compound_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut "X reported A, while Y indicated that B" after the comma."""
    spans = []
    piece_start = start
    for joint in _COMPOUND_JOINT.finditer(text, start, end):
        before = text[piece_start : joint.start()]
        after = text[joint.end() : end]
        if _inside_quote(text[start : joint.start()]):
            continue
        if _has_reporting_clause(before, anywhere=True) and _has_reporting_clause(
            after, anywhere=False
        ):
            cut = joint.start() + 1  # the comma or semicolon stays with the first claim
            spans.append((piece_start, cut))
            piece_start, _ = _trim(text, cut, end)
    spans.append((piece_start, end))
    return spans


def _inside_quote(prefix: str) -> bool:
    straight = prefix.count('"')
    return straight % 2 == 1 or prefix.count("“") > prefix.count("”")


def _has_reporting_clause(clause: str, *, anywhere: bool) -> bool:
    """Whether `clause` holds a reporting verb with a subject before it.

    For the clause after the joint the verb must come early ("Ukraine
    indicated that ...", "South Korean intelligence reported ..."), so that a
    reporting verb deep inside an ordinary clause does not cut the sentence.
    """
    words = _WORD.findall(clause)
    limit = len(words) if anywhere else min(len(words), 7)
    for index in range(1, limit):
        form = words[index].lower()
        lemma = lexicon.REPORTING_VERB_FORMS.get(form)
        if lemma is not None and not form.endswith("ing") and _verb_reading(words, index):
            if lemma in lexicon.STRONG_REPORTING_VERBS or lemma in ("add", "note", "write"):
                return True
        if not anywhere and form in lexicon.CLAUSE_WORDS:
            return False
    return "according to" in clause.lower()


def _verb_reading(words: list[str], index: int) -> bool:
    """Tell "Ukraine claims that" (a verb) from "casualty estimates among" (a noun)."""
    previous = words[index - 1].lower()
    if previous in ("to", "be", "been", "being", "was", "were", "is", "are", "the", "a", "an"):
        return False
    following = words[index + 1].lower() if index + 1 < len(words) else ""
    return not (words[index].endswith("s") and following in _NOUN_FOLLOWERS)


_NOUN_FOLLOWERS = frozenset(
    "of from by among on about for in to have has were are suggest show say indicate".split()
)


def _credit_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces = []
    piece_start = start
    for match in _CREDIT_INSIDE.finditer(text, start, end):
        pieces.append((piece_start, match.start()))
        piece_start = match.end()
    pieces.append((piece_start, end))
    return pieces


def _list_heading(line: str) -> str | None:
    label = line.strip().rstrip(":").strip().lower()
    if len(label) > 40:
        return None
    if label in lexicon.LINK_LIST_HEADINGS:
        return "links"
    if label in lexicon.BIBLIOGRAPHY_HEADINGS and line.strip()[0].isupper():
        return "bibliography"
    return None


def _is_furniture_line(line: str) -> bool:
    """Datelines and bylines, which carry no claim."""
    if _DATELINE.fullmatch(line) or _ISO_DATE.fullmatch(line):
        return True
    return bool(_BYLINE.match(line)) and len(line.split()) <= 12 and line[-1] not in ".!?"


def _is_heading(piece: str) -> bool:
    if piece[-1] in _TERMINAL or piece[0] in '"“' or _ENUMERATION_START.match(piece):
        return False
    return len(piece.split()) <= _MAX_HEADING_WORDS


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
