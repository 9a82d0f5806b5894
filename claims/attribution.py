"""Suggest sources, attribution cue and confidence for each claim of an article.

`analyse()` is the entry point: it splits the text with `claims.segment` and
reads each claim with the rules below. They are deliberately shallow (word
lists and the shape of English news attribution, no parser): a suggestion
only pre-fills the annotator's form, and it has to run at import speed.

The attribution shapes read here:
- cue verb with its subject before it: "KCNA said", "Analysts previously
  suspected that", "Steve Whitmore, a representative ..., told";
- inverted after a quotation: '..." said Ambassador Mohib.';
- passive with an agent: "is described by Kim as";
- source after a preposition: "according to", "per", "citing", "quoting";
- attribution nouns with their sources: "intelligence reports from NATO, the
  United States, and South Korea" gives three sources;
- photo credits ("Image: Nick Moreau.") and quote credits ('" - Name').

Pronoun sources ("he stated") keep the pronoun's offsets and take the name of
the last person named as a source before them, since the app shows the name
while the offsets show where the text attributes; docs/text-engine.md says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from claims import lexicon
from claims.confidence import confidence_of, sounds_like_opinion
from claims.segment import CLAIM, NOT_A_CLAIM, Segment, split
from claims.source_kind import guess_kind, person_like

SOURCE_KINDS = (
    "state_media",
    "government",
    "military",
    "intelligence",
    "international_org",
    "expert",
    "official",
    "anonymous",
    "unattributed",
)
CONFIDENCE_VALUES = ("confirmed", "asserted", "claimed", "estimated", "speculative", "unclear")
OPINION = "opinion"


@dataclass(frozen=True, slots=True)
class SourceMention:
    """A source as the text names it.

    `start`/`end` point at the words in the text that attribute (for a
    resolved pronoun, the pronoun; `name` is then the person it refers to).
    They are None only when no words of the text stand for the source.
    `wording` is the whole noun phrase when `name` was cut from a longer one
    ("the state-run news agency KCNA" for "KCNA").
    """

    name: str
    start: int | None
    end: int | None
    canonical: str | None
    kind: str
    wording: str | None = None


@dataclass(frozen=True, slots=True)
class Cue:
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ClaimSuggestion:
    start: int
    end: int
    text: str
    kind: str
    sources: tuple[SourceMention, ...]
    cue: Cue | None
    confidence: str | None

    def to_json(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "kind": self.kind,
            "sources": [{"name": s.name, "start": s.start, "end": s.end} for s in self.sources],
            "cue": (
                {"text": self.cue.text, "start": self.cue.start, "end": self.cue.end}
                if self.cue
                else None
            ),
            "confidence": self.confidence,
        }


def analyse(
    text: str, *, split_compound: bool = True, aliases: Mapping[str, str] | None = None
) -> list[ClaimSuggestion]:
    """Split `text` into claims and suggest sources, cue and confidence for each.

    `aliases` maps a lower-cased alias wording (e.g. "korean central news
    agency", "kcna", "the state-run news agency kcna") to the canonical
    source name ("KCNA"); a mention that matches gets `canonical` set.
    """
    reader = _ArticleReader(text, aliases or {})
    return [reader.read(seg) for seg in split(text, split_compound=split_compound)]


# ------------------------------------------------------------------ tokens

_TOKEN = re.compile(
    r"(?:[A-Za-z]\.){2,}"  # U.S., D.C., a.m.
    r"|(?:Mr|Mrs|Ms|Dr|Prof|Gen|Sen|Rep|Gov|Lt|Col|Capt|Sgt|St|Jr|Sr|Mt|Rev)\.(?=\s)"
    r"|\d[\d,.]*\d|\d"
    r"|\w[\w'’\-./@&]*\w|\w"
    r"|[^\w\s]"
)
_QUOTES = frozenset("\"“”'‘’«»")
_CREDIT = re.compile(
    r"\(?\s*(?P<label>" + "|".join(re.escape(x) for x in lexicon.CREDIT_LABELS) + r")\s*:\s*"
    r"(?P<name>.+?)\s*[.)]*$",
    re.DOTALL,
)
_DASH_CREDIT = re.compile(r"[\"”]\s+[-–—]\s*(?P<name>[A-Z][^\"“”]{1,60}?)\s*$")
_HEADLINE_SOURCE = re.compile(r"(?P<name>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})\s*:\s+\S")
_PLAIN_WORD = re.compile(r"[A-Za-z]+")
# Words without which a sentence cannot hold a cue: a cheap test that spares
# tokenising most sentences.
_CUE_WORDS = frozenset(
    {"according", "per", "citing", "quoting"}
    | set(lexicon.REPORTING_VERB_FORMS)
    | lexicon.ATTRIBUTION_NOUNS
)
_PERSON_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,3}\b")


@dataclass(slots=True)
class _Token:
    text: str
    low: str
    start: int
    end: int

    @property
    def capitalised(self) -> bool:
        return self.text[0].isupper()

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()


def _tokens(text: str, start: int, end: int) -> list[_Token]:
    return [
        _Token(m.group(), m.group().lower(), m.start(), m.end())
        for m in _TOKEN.finditer(text, start, end)
    ]


@dataclass(slots=True)
class _Attribution:
    cue: Cue | None
    lemma: str | None
    phrases: list[tuple[int, int]]  # token index ranges [i, j) of the source phrases


# ------------------------------------------------------------------ reading


class _ArticleReader:
    """Reads one article's segments in order, remembering the last speaker."""

    def __init__(self, text: str, aliases: Mapping[str, str]) -> None:
        self.text = text
        self.aliases = aliases
        self.last_person: SourceMention | None = None
        # People named in the previous claim: "Kim Jong Un has initiated a
        # project. He announced plans ..." resolves "He" although Kim was not
        # yet quoted, provided the previous claim names no one else.
        self.previous_people: list[SourceMention] = []

    def read(self, seg: Segment) -> ClaimSuggestion:
        body = self.text[seg.start : seg.end]
        if seg.kind == NOT_A_CLAIM:
            sources, cue = self._furniture_sources(seg)
            return ClaimSuggestion(seg.start, seg.end, body, seg.kind, sources, cue, None)
        words = _PLAIN_WORD.findall(body)
        lowered = {w.lower() for w in words}
        if not lowered.isdisjoint(_CUE_WORDS) or _has_dash_credit(body):
            tokens = _tokens(self.text, seg.start, seg.end)
            attributions = _find_attributions(self.text, tokens)
            sources = self._mentions(tokens, attributions)
        else:
            # Most sentences hold no cue word at all; skip tokenising them.
            attributions, sources = [], ()
        cue = next((a.cue for a in attributions if a.cue is not None), None)
        lemmas = {a.lemma for a in attributions if a.lemma}
        kind = CLAIM if sources or not sounds_like_opinion(body) else OPINION
        confidence = confidence_of(
            body, set(words), lowered, lemmas, [s.name for s in sources if s.start is not None]
        )
        self.previous_people = self._people_named(seg.start, body)
        return ClaimSuggestion(seg.start, seg.end, body, kind, sources, cue, confidence)

    def _furniture_sources(self, seg: Segment) -> tuple[tuple[SourceMention, ...], Cue | None]:
        body = self.text[seg.start : seg.end]
        credit = _CREDIT.match(body)
        if credit:
            start = seg.start + credit.start("name")
            end = seg.start + credit.end("name")
            label = Cue(
                credit.group("label"),
                seg.start + credit.start("label"),
                seg.start + credit.end("label"),
            )
            return (self._mention(self.text[start:end], start, end),), label
        headline = _HEADLINE_SOURCE.match(body)
        if headline and _is_headline_source(headline.group("name")):
            start, end = seg.start + headline.start("name"), seg.start + headline.end("name")
            cue = Cue(self.text[start:end], start, end)
            return (self._mention(self.text[start:end], start, end),), cue
        return (), None

    def _mentions(
        self, tokens: list[_Token], attributions: list[_Attribution]
    ) -> tuple[SourceMention, ...]:
        mentions: list[SourceMention] = []
        seen: set[tuple[int, int]] = set()
        speaker: SourceMention | None = None
        pending_first_person: list[_Token] = []
        for attribution in attributions:
            for i, j in attribution.phrases:
                start, end = tokens[i].start, tokens[j - 1].end
                if (start, end) in seen:
                    continue
                seen.add((start, end))
                if j - i == 1 and tokens[i].low in lexicon.PERSONAL_PRONOUNS:
                    mention = self._pronoun(tokens[i], speaker)
                    if tokens[i].low in ("i", "we") and mention.name == tokens[i].text:
                        pending_first_person.append(tokens[i])
                else:
                    mention = self._phrase_mention(start, end)
                    if _looks_like_person(mention):
                        speaker = mention
                mentions.append(mention)
        if speaker and pending_first_person:
            # "I think ..." inside a quotation closed by "he said" or "said X".
            for index, mention in enumerate(mentions):
                if mention.name in ("I", "we", "We") and mention.start is not None:
                    mentions[index] = SourceMention(
                        speaker.name,
                        mention.start,
                        mention.end,
                        speaker.canonical,
                        speaker.kind,
                        mention.name,
                    )
        if speaker is not None:
            self.last_person = speaker
        return tuple(mentions)

    def _people_named(self, offset: int, body: str) -> list[SourceMention]:
        people: list[SourceMention] = []
        for match in _PERSON_NAME.finditer(body):
            name = match.group()
            if name.split()[0].lower() in lexicon.SENTENCE_STARTERS or not person_like(name):
                continue
            if all(p.name != name for p in people):
                people.append(self._mention(name, offset + match.start(), offset + match.end()))
        return people

    def _pronoun(self, token: _Token, speaker: SourceMention | None) -> SourceMention:
        referent = None
        if token.low in ("he", "she"):
            single_previous = self.previous_people[0] if len(self.previous_people) == 1 else None
            referent = speaker or single_previous or self.last_person
        elif token.low in ("i", "we"):
            referent = speaker
        if referent is None:
            return SourceMention(token.text, token.start, token.end, None, guess_kind(token.text))
        return SourceMention(
            referent.name, token.start, token.end, referent.canonical, referent.kind, token.text
        )

    def _phrase_mention(self, start: int, end: int) -> SourceMention:
        wording = self.text[start:end]
        name_start = start + _name_offset(wording)
        return self._mention(self.text[name_start:end], name_start, end, wording)

    def _mention(
        self, name: str, start: int, end: int, wording: str | None = None
    ) -> SourceMention:
        canonical = None
        for candidate in (wording, name):
            if candidate:
                key = " ".join(candidate.lower().split())
                canonical = self.aliases.get(key) or self.aliases.get(_drop_article(key))
                if canonical:
                    break
        kind = guess_kind(wording or name)
        return SourceMention(
            name, start, end, canonical, kind, wording if wording and wording != name else None
        )


def _drop_article(key: str) -> str:
    for article in ("the ", "a ", "an "):
        if key.startswith(article):
            return key[len(article) :]
    return key


def _name_offset(wording: str) -> int:
    """Where the name starts in a phrase such as "the state-run news agency KCNA".

    A lower-case descriptor after an article in front of a capitalised name
    is the source's description, not its name.
    """
    words = list(re.finditer(r"\S+", wording))
    if len(words) < 3 or words[0].group().lower() not in ("the", "a", "an"):
        return 0
    tail = len(words)
    while tail > 1 and words[tail - 1].group()[0].isupper():
        tail -= 1
    if tail == len(words) or tail < 2:
        return 0
    descriptor = words[1:tail]
    if all(w.group()[0].islower() for w in descriptor):
        return words[tail].start()
    return 0


def _is_headline_source(name: str) -> bool:
    low = name.lower()
    return (
        low
        in {
            "reports",
            "report",
            "sources",
            "officials",
            "police",
            "witnesses",
            "analysts",
            "experts",
            "study",
            "poll",
            "survey",
            "media",
        }
        or low in lexicon.STATE_MEDIA_NAMES
        or low in lexicon.INTERNATIONAL_ORG_NAMES
        or (name.isupper() and len(name) <= 6)
    )


# ------------------------------------------------------------ attributions


def _find_attributions(text: str, tokens: list[_Token]) -> list[_Attribution]:
    found: list[_Attribution] = []
    claimed: set[int] = set()  # tokens already inside a source phrase
    count = len(tokens)
    for v, tok in enumerate(tokens):
        low = tok.low
        if low == "according" and v + 1 < count and tokens[v + 1].low == "to":
            phrase = _right_phrase(tokens, v + 2)
            if phrase:
                cue = Cue(text[tok.start : tokens[v + 1].end], tok.start, tokens[v + 1].end)
                found.append(_Attribution(cue, "according", [phrase]))
                claimed.update(range(*phrase))
            continue
        if low in ("per", "citing", "quoting") and v + 1 < count:
            if low == "per" and (
                v == 0 or tokens[v - 1].low == "as" or not tokens[v + 1].capitalised
            ):
                continue
            phrase = _right_phrase(tokens, v + 1)
            if phrase and _names_a_source(tokens, phrase):
                found.append(_Attribution(Cue(tok.text, tok.start, tok.end), low, [phrase]))
                claimed.update(range(*phrase))
            continue
        if (
            low in lexicon.ATTRIBUTION_NOUNS
            and v + 2 < count
            and tokens[v + 1].low in ("from", "by")
        ):
            phrases = _right_list(tokens, v + 2)
            if phrases and all(_names_a_source(tokens, p) for p in phrases):
                end = tokens[v + 1].end
                found.append(_Attribution(Cue(text[tok.start : end], tok.start, end), low, phrases))
                for phrase in phrases:
                    claimed.update(range(*phrase))
                claimed.update(_noun_phrase_before(tokens, v))
            continue
        lemma = lexicon.REPORTING_VERB_FORMS.get(low)
        if lemma is None or v in claimed:
            continue
        attribution = _verb_attribution(text, tokens, v, lemma, found, claimed)
        if attribution is not None:
            found.append(attribution)
            for phrase in attribution.phrases:
                claimed.update(range(*phrase))
    found.extend(_dash_credit(text, tokens))
    return found


def _verb_attribution(
    text: str,
    tokens: list[_Token],
    v: int,
    lemma: str,
    found: list[_Attribution],
    claimed: set[int],
) -> _Attribution | None:
    tok = tokens[v]
    count = len(tokens)
    nxt = tokens[v + 1] if v + 1 < count else None
    if lemma == "point" and (nxt is None or nxt.low != "out"):
        return None
    if not tok.text[0].islower() and v > 0:
        return None  # a capitalised "Reports" or "Says" inside a name or title
    prev = _skip_back(tokens, v - 1)
    prev_tok = tokens[prev] if prev >= 0 else None
    if prev_tok is not None and (
        prev_tok.low in lexicon.DETERMINERS
        or prev_tok.low in ("to", "of", "for", "'s", "’s")
        or prev_tok.low.endswith(("'s", "’s"))
    ):
        return None  # "to announce", "the report", "his claims", "Kim's statement"
    if tok.low in lexicon.NOUN_LIKE_FORMS and nxt is not None and nxt.low in _NOUN_FOLLOWERS:
        return None  # "estimates among", "reports from"
    cue = Cue(tok.text, tok.start, tok.end)
    if _is_passive(tokens, v):
        agent = _passive_agent(tokens, v + 1)
        return _Attribution(cue, lemma, [agent]) if agent else None
    if tok.low.endswith("ing"):
        # Only "with Boswell stating: ..." reports on its own; ", claiming
        # ..." shares the main verb's subject, "writing in a blog" has none.
        phrases = _subject_phrases(tokens, prev)
        if not phrases or phrases[0][0] == 0 or tokens[phrases[0][0] - 1].low != "with":
            return None
        return _Attribution(cue, lemma, phrases[:1])
    inverted = _inverted_subject(text, tokens, v)
    if inverted:
        return _Attribution(cue, lemma, [inverted])
    phrases = _subject_phrases(tokens, prev)
    if not phrases and prev_tok is not None and prev_tok.low in ("and", "but", "or"):
        # "tweeted to Mohamed and said": the earlier verb's subject.
        if found and found[-1].phrases:
            phrases = [found[-1].phrases[0]]
    if not phrases:
        return None
    subject_end = tokens[phrases[-1][1] - 1]
    if tok.low == lemma and not _plural_subject(subject_end):
        return None  # "the nation's asylum claim", "a tweet to ..."
    if (
        tok.low in lexicon.NOUN_LIKE_FORMS
        and not _verb_subject(subject_end)
        and not _clause_follows(tokens, v)
    ):
        return None  # "outstanding asylum claims over 150,000"
    if nxt is not None and nxt.low == "by" and not _verb_subject(subject_end):
        return None  # "a blog written by Rathbun": a participle, not a report
    if any(i in claimed for phrase in phrases for i in range(*phrase)):
        return None
    first_person = subject_end.low in ("i", "we")
    if lemma in lexicon.WEAK_REPORTING_VERBS and not first_person:
        if lemma in lexicon.OBJECT_TAKING_VERBS:
            if not (_clause_follows(tokens, v) or _evidence_subject(tokens, phrases[0])):
                return None
        elif not (_complement_follows(tokens, v) or _evidence_subject(tokens, phrases[0])):
            return None
    return _Attribution(cue, lemma, phrases)


def _is_passive(tokens: list[_Token], v: int) -> bool:
    """ "was initially denied", "has been reported", "can be observed"."""
    form = tokens[v].low
    if form.endswith(("ing", "s")) and form not in ("thus",):
        return False
    k = v - 1
    while k >= 0 and (
        tokens[k].low in lexicon.AUXILIARIES
        or (tokens[k].low.endswith("ly") and tokens[k].text[0].islower())
    ):
        if tokens[k].low in _BE_FORMS:
            return True
        k -= 1
    return False


def _plural_subject(head: _Token) -> bool:
    low = head.low
    return (
        low in ("i", "we", "they", "you")
        or (low.endswith("s") and not low.endswith(("'s", "’s", "ss")))
        or low in ("people", "police", "media", "staff", "public", "children", "men", "women")
        or (head.text.isupper() and len(head.text) > 1)
    )


def _verb_subject(head: _Token) -> bool:
    """A subject that makes "claims" or "reports" a verb: a name, a pronoun, a plural."""
    return head.capitalised or head.low in lexicon.PERSONAL_PRONOUNS or _plural_subject(head)


def _clause_follows(tokens: list[_Token], v: int) -> bool:
    j = v + 1
    if j < len(tokens) and tokens[j].low == "out":
        j += 1
    if j >= len(tokens):
        return False
    nxt = tokens[j]
    return nxt.text in _QUOTES or nxt.text == ":" or nxt.low in _CLAUSE_STARTS


_CLAUSE_STARTS = frozenset(
    """that it he she they we i there their his her its our what how why whether""".split()
)


_BE_FORMS = frozenset("is are was were be been being".split())
# Verbs that news copy puts before their subject after a comma: "..., said KCNA."
_INVERTED_FORMS = frozenset(
    "said says added adds wrote writes reported reports noted notes explained continued".split()
)
_NOUN_FOLLOWERS = frozenset(
    """of from by among on about for in have has were are was is can could will would may
    might should must""".split()
)
_COMPLEMENT_STARTS = frozenset(
    """that the a an it its he she they we i there this these those his her their our
    some many most no all any several one more less what how why whether if when
    although though nobody everyone someone nothing""".split()
)
_TIME_WORDS = (
    lexicon.WEEKDAYS
    | lexicon.MONTHS
    | frozenset(
        "today yesterday tonight tomorrow recently earlier later last week month year".split()
    )
)


def _skip_back(tokens: list[_Token], i: int) -> int:
    """The index left of `i` once auxiliaries and adverbs are skipped."""
    while i >= 0:
        low = tokens[i].low
        if low in lexicon.AUXILIARIES or (
            low.endswith("ly") and tokens[i].text[0].islower() and len(low) > 4
        ):
            i -= 1
            continue
        break
    return i


def _complement_follows(tokens: list[_Token], v: int) -> bool:
    """A clause, a quotation or a colon after a verb such as "described" or "found"."""
    j = v + 1
    if j < len(tokens) and tokens[j].low in ("out", "to", "on"):
        j += 1  # "pointed out that", "told to ..."
    if j >= len(tokens):
        return False
    nxt = tokens[j]
    return nxt.text in _QUOTES or nxt.text in (":", ",") or nxt.low in _COMPLEMENT_STARTS


def _evidence_subject(tokens: list[_Token], phrase: tuple[int, int]) -> bool:
    """ "the findings show", "The scientists found"."""
    return any(
        tokens[k].low in lexicon.DOCUMENT_NOUNS or tokens[k].low in lexicon.EVIDENCE_SUBJECTS
        for k in range(*phrase)
    )


def _passive_agent(tokens: list[_Token], j: int) -> tuple[int, int] | None:
    """ "is described by Kim as ...": the phrase after "by"."""
    j = _skip_forward(tokens, j)
    if j < len(tokens) and tokens[j].low == "by":
        return _right_phrase(tokens, j + 1)
    return None


def _skip_forward(tokens: list[_Token], j: int) -> int:
    while j < len(tokens) and tokens[j].low.endswith("ly") and tokens[j].text[0].islower():
        j += 1
    return j


def _inverted_subject(text: str, tokens: list[_Token], v: int) -> tuple[int, int] | None:
    """'..." said Ambassador Mohib.', '"...," said the post by ...', '..., said KCNA.'."""
    if v == 0:
        return None
    if tokens[v - 1].text == "," and tokens[v].low in _INVERTED_FORMS:
        phrase = _right_phrase(tokens, v + 1)
        if phrase and (phrase[1] == len(tokens) or tokens[phrase[1]].text in (".", ",")):
            return phrase
    quote = tokens[v - 1]
    if quote.text == "," and v >= 2:
        quote = tokens[v - 2]
    if quote.text not in _QUOTES or quote.text in "“‘":
        return None
    if quote.start == 0 or text[quote.start - 1].isspace():
        return None  # an opening quotation mark: '"recommended it"'
    return _right_phrase(tokens, v + 1)


def _subject_phrases(tokens: list[_Token], j: int) -> list[tuple[int, int]]:
    """The subject noun phrase(s) ending at token `j`, walking left."""
    if j < 0:
        return []
    tok = tokens[j]
    if tok.low in lexicon.PERSONAL_PRONOUNS:
        return [(j, j + 1)]
    if tok.text in ("who", "which") and j >= 1:
        k = j - 1 if tokens[j - 1].text != "," else j - 2
        phrase = _left_phrase(tokens, k)
        return [phrase] if phrase else []
    if tok.text == ",":
        phrase = _subject_before_apposition(tokens, j)
        return [phrase] if phrase else []
    phrase = _left_phrase(tokens, j)
    if phrase is None:
        return []
    phrases = [phrase]
    # "Both the school district and the police department have asserted",
    # "NATO, the US and South Korea said".
    k = phrase[0] - 1
    while k >= 1 and tokens[k].low in ("and", ",") and len(phrases) < 5:
        nxt_k = k - 1
        if tokens[nxt_k].text == "," or tokens[nxt_k].low == "and":
            nxt_k -= 1
        other = _left_phrase(tokens, nxt_k)
        if other is None or not any(tokens[x].capitalised for x in range(*other)):
            break
        start = other[0]
        if start > 0 and tokens[start - 1].low not in ("both", ",", "and") and start - 1 >= 0:
            if not _clause_start(tokens, start - 1):
                break
        phrases.insert(0, other)
        k = other[0] - 1
    if len(phrases) > 1 and (
        not _list_closes(tokens, phrases[0][0] - 1)
        or tokens[phrase[0] - 1].low not in ("and", "or")
    ):
        return [phrases[-1]]
    return phrases


def _list_closes(tokens: list[_Token], k: int) -> bool:
    return k < 0 or tokens[k].low == "both" or _clause_start(tokens, k)


def _clause_start(tokens: list[_Token], k: int) -> bool:
    return k < 0 or tokens[k].text in (";", ":", "“", '"') or tokens[k].low in ("that",)


def _subject_before_apposition(tokens: list[_Token], comma: int) -> tuple[int, int] | None:
    """ "Steve Whitmore, a representative for the LA Sheriff's office, told"."""
    chunks: list[tuple[int, int]] = []
    end = comma
    k = comma - 1
    start_of_clause = 0
    while k >= 0:
        t = tokens[k]
        if t.text in (";", ":") or t.text in _QUOTES or t.low in ("that", "but", "while"):
            start_of_clause = k + 1
            break
        if t.text == ",":
            chunks.insert(0, (k + 1, end))
            end = k
        k -= 1
    chunks.insert(0, (start_of_clause, end))
    for start, stop in chunks:
        if start >= stop:
            continue
        first = tokens[start]
        if first.low in _INTRO_WORDS or first.low in _TIME_WORDS or first.low == "and":
            continue
        if stop - start <= 20 and (first.capitalised or first.low in lexicon.DETERMINERS):
            if not any(
                tokens[x].text[0].islower() and tokens[x].low in lexicon.NP_STOP_WORDS
                for x in range(start, stop)
            ):
                return (start, stop)
        return None
    return None


_INTRO_WORDS = frozenset(
    """after before during in on at following since as while when with without despite
    for from by also however meanwhile instead earlier later recently yesterday today
    additionally moreover separately still""".split()
)


def _left_phrase(tokens: list[_Token], j: int) -> tuple[int, int] | None:
    """The noun phrase ending at token `j`, read leftwards."""
    if j < 0:
        return None
    if tokens[j].text == ")":
        # "The World Health Organisation (WHO) recommends"
        k = j
        while k > 0 and tokens[k].text != "(":
            k -= 1
        j = k - 1
        if j < 0:
            return None
    if tokens[j].text[0].islower() and (
        (
            tokens[j].low in lexicon.REPORTING_VERB_FORMS
            and tokens[j].low not in lexicon.NOUN_LIKE_FORMS
        )
        or tokens[j].low in lexicon.NP_STOP_WORDS
    ):
        return None
    end = j + 1
    k = j
    words = 0
    while k >= 0 and words < 16:
        t = tokens[k]
        low = t.low
        if not t.is_word:
            if t.text in ("-", "–", "&", "/") and k > 0 and tokens[k - 1].is_word:
                k -= 1
                continue
            break
        if low in lexicon.PERSONAL_PRONOUNS or low in lexicon.CLAUSE_WORDS:
            break
        if low in lexicon.NP_STOP_WORDS and low not in lexicon.PREPOSITIONS_IN_NAMES:
            break
        if low in lexicon.REPORTING_VERB_FORMS and t.text[0].islower() and k != j:
            break
        if low in lexicon.DETERMINERS:
            k -= 1
            words += 1
            if k >= 0 and tokens[k].low in ("of", "for", "to", "at", "on", "in", "from"):
                continue
            break
        if low in lexicon.PREPOSITIONS_IN_NAMES and t.text[0].islower():
            if k == j or k == 0 or not tokens[k - 1].is_word:
                break
        k -= 1
        words += 1
    start = k + 1
    # Drop prepositions and time words left dangling at the front ("On
    # Wednesday Home Secretary ...").
    while start < end and (
        tokens[start].low in lexicon.PREPOSITIONS_IN_NAMES
        or tokens[start].low in _TIME_WORDS
        or tokens[start].low in _INTRO_WORDS
        or tokens[start].text[0].isdigit()
    ):
        start += 1
    if start >= end:
        return None
    if tokens[end - 1].low in lexicon.DETERMINERS or tokens[end - 1].low in (
        lexicon.PREPOSITIONS_IN_NAMES
    ):
        return None
    return (start, end)


def _right_phrase(tokens: list[_Token], j: int) -> tuple[int, int] | None:
    """The noun phrase starting at token `j`, read rightwards."""
    count = len(tokens)
    if j >= count:
        return None
    first = tokens[j]
    if first.low in lexicon.PERSONAL_PRONOUNS:
        return (j, j + 1)
    k = j
    content = 0
    seen_name = False
    while k < count and k - j < 14:
        t = tokens[k]
        low = t.low
        if not t.is_word:
            if t.text in ("-", "&", "/") and content and k + 1 < count and tokens[k + 1].is_word:
                k += 1
                continue
            break
        if low in lexicon.DETERMINERS:
            if content and not (k > j and tokens[k - 1].low in lexicon.PREPOSITIONS_IN_NAMES):
                break  # "According to Rathbun the Scientology property ..."
            k += 1
            continue
        if low in lexicon.PREPOSITIONS_IN_NAMES and t.text[0].islower():
            if not content or k + 1 >= count:
                break
            following = tokens[k + 1]
            if not (following.capitalised or following.low in ("the", "a", "an")):
                break
            if low not in ("of", "for", "to", "on", "at") or (
                low in ("to", "on", "at") and not seen_name
            ):
                break
            k += 1
            continue
        if t.text[0].islower():
            if low in lexicon.NP_STOP_WORDS or low in lexicon.CLAUSE_WORDS:
                break
            if low in lexicon.REPORTING_VERB_FORMS and content:
                break
            if content and low.endswith("ed") and not seen_name and low not in ("armed",):
                break  # "an Internet posting made ..." / "posted ..."
        else:
            seen_name = True
        content += 1
        k += 1
    if not content:
        return None
    return (j, k)


def _right_list(tokens: list[_Token], j: int) -> list[tuple[int, int]]:
    """ "NATO, the United States, and South Korea" as three phrases."""
    phrases = []
    while j < len(tokens) and len(phrases) < 8:
        phrase = _right_phrase_short(tokens, j)
        if phrase is None:
            break
        phrases.append(phrase)
        k = phrase[1]
        if k < len(tokens) and tokens[k].text == ",":
            k += 1
        if k < len(tokens) and tokens[k].low in ("and", "or"):
            k += 1
        if (
            k == phrase[1]
            or k >= len(tokens)
            or not (tokens[k].capitalised or tokens[k].low in ("the", "a", "an"))
        ):
            break
        j = k
    return phrases


def _right_phrase_short(tokens: list[_Token], j: int) -> tuple[int, int] | None:
    """A list item: an optional article and a capitalised name, or a short phrase."""
    k = j
    if k < len(tokens) and tokens[k].low in ("the", "a", "an"):
        k += 1
    start_name = k
    while (
        k < len(tokens)
        and tokens[k].is_word
        and (tokens[k].capitalised or (k > start_name and tokens[k].low in ("of", "for")))
    ):
        k += 1
    if k > start_name:
        return (j, k)
    return _right_phrase(tokens, j)


def _noun_phrase_before(tokens: list[_Token], v: int) -> range:
    k = v - 1
    while k >= 0 and tokens[k].is_word and tokens[k].low not in lexicon.CLAUSE_WORDS:
        k -= 1
    return range(k + 1, v + 1)


def _names_a_source(tokens: list[_Token], phrase: tuple[int, int]) -> bool:
    words = tokens[phrase[0] : phrase[1]]
    return any(t.capitalised for t in words) or any(
        t.low in ("sources", "officials", "reports", "media", "analysts", "experts") for t in words
    )


def _has_dash_credit(body: str) -> bool:
    return ('"' in body or "”" in body) and _DASH_CREDIT.search(body) is not None


def _dash_credit(text: str, tokens: list[_Token]) -> list[_Attribution]:
    if not tokens:
        return []
    sentence = text[tokens[0].start : tokens[-1].end]
    match = _DASH_CREDIT.search(sentence)
    if not match:
        return []
    start = tokens[0].start + match.start("name")
    i = next(k for k, t in enumerate(tokens) if t.start >= start)
    return [_Attribution(None, None, [(i, len(tokens))])]


# ------------------------------------------------------------------ people


def _looks_like_person(mention: SourceMention) -> bool:
    return person_like(mention.name) and mention.kind not in (
        "state_media",
        "international_org",
        "government",
    )
