"""Guess the kind of a source from its wording.

The kinds are the project's default source kinds (`SOURCE_KINDS` in
claims.attribution); the guess only pre-fills the annotator's choice, so it
reads the wording alone: "the state-run news agency KCNA" is state media,
"South Korean intelligence" intelligence, "the General Staff" military.
"""

from __future__ import annotations

import re

from claims import lexicon

_WORD = re.compile(r"[A-Za-z']+")


def _any_of(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(p) for p in phrases))


_STATE_MEDIA = _any_of(lexicon.STATE_MEDIA_WORDS)
_ANONYMOUS = _any_of(lexicon.ANONYMOUS_WORDS)
_INTELLIGENCE = _any_of(lexicon.INTELLIGENCE_WORDS)
_MILITARY = _any_of(lexicon.MILITARY_WORDS)
_INTERNATIONAL_ORG = _any_of(lexicon.INTERNATIONAL_ORG_WORDS)
_EXPERT = _any_of(lexicon.EXPERT_WORDS)
_OFFICIAL = _any_of(lexicon.OFFICIAL_WORDS)
_GOVERNMENT = _any_of(lexicon.GOVERNMENT_WORDS)
_COUNTRY_PHRASE = _any_of(lexicon.COUNTRY_PHRASES)


def guess_kind(wording: str) -> str:
    """Guess a source's kind from its wording as written."""
    low = wording.lower()
    padded = f" {low} "
    words = set(_WORD.findall(low))
    # Acronyms count only in capitals: "UN" is the United Nations, "Jong Un" is not.
    acronyms = {w.lower() for w in _WORD.findall(wording) if w.isupper() and len(w) > 1}
    names = acronyms | {w for w in words if len(w) > 3}
    if names & lexicon.STATE_MEDIA_NAMES or _STATE_MEDIA.search(low):
        return "state_media"
    if _ANONYMOUS.search(low):
        return "anonymous"
    if names & lexicon.INTELLIGENCE_NAMES or _INTELLIGENCE.search(low):
        return "intelligence"
    if _MILITARY.search(padded):
        return "military"
    if acronyms & lexicon.INTERNATIONAL_ORG_NAMES or _INTERNATIONAL_ORG.search(low):
        return "international_org"
    if _EXPERT.search(low):
        return "expert"
    if _OFFICIAL.search(padded):
        return "official"
    if _GOVERNMENT.search(low) or words & lexicon.COUNTRY_NAMES:
        return "government"
    if _COUNTRY_PHRASE.search(padded):
        return "government"
    if words and words <= _UNOWNED_DOCUMENT_WORDS:
        # "Estimates suggest", "Reports say": nobody named stands behind them.
        return "anonymous"
    # A named person or outlet with no title: the annotator picks; "official"
    # is the commonest kind of named speaker in news copy.
    return "official"


_UNOWNED_DOCUMENT_WORDS = frozenset(
    "reports report estimates figures data media recent some several many other".split()
)


_ORG_WORDS = frozenset(
    """news agency ministry government department office university council committee
    times post press media website site magazine journal report study authority
    service foundation association organisation organization party group company
    corporation inc ltd court police""".split()
)


def person_like(name: str) -> bool:
    """Whether `name` reads as a person's name rather than an organisation or country."""
    words = name.split()
    if not words or not words[-1][0].isupper() or name.isupper():
        return False
    low = {w.lower().strip(".,'’s") for w in words}
    if low & _ORG_WORDS or low & lexicon.COUNTRY_NAMES:
        return False
    return _COUNTRY_PHRASE.search(name.lower()) is None
