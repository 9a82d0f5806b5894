"""The confidence a claim's wording expresses, and whether it is an opinion.

Hedges and boosters decide, strongest first: the text saying it does not know
("remains unclear") beats an estimate ("around 2,000"), which beats a hedge
("reportedly", "might"), a party's claim ("claimed") and a confirmation
("confirmed"); a plain statement is "asserted". The scale follows the
project's default label set (FactBank-style event factuality).
"""

from __future__ import annotations

import re

from claims import lexicon

_WORD = re.compile(r"[A-Za-z']+")
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")


_HEDGED_NUMBER = re.compile(
    r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in lexicon.NUMBER_HEDGES) + r")"
    r"(?:\s+(?:than|to|of))?\s+(?:US)?[$£€]?\s?"
    r"(?:\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|a hundred|hundreds|a thousand|thousands|a million|millions|"
    r"a dozen|dozens|half)\b)",
    re.IGNORECASE,
)
_HEDGE_WORDS = frozenset(w.rstrip(".") for w in lexicon.NUMBER_HEDGES)


def confidence_of(
    body: str,
    words: set[str],
    lowered: set[str],
    lemmas: set[str],
    source_names: list[str],
) -> str:
    """The confidence the wording expresses, strongest hedge first.

    `words` are the claim's words as written, `lowered` the same in lower
    case, `lemmas` those of its reporting verbs, `source_names` the names of
    the sources the text names in it.
    """
    low = body.lower()
    if any(phrase in low for phrase in lexicon.UNCLEAR_PHRASES):
        return "unclear"
    if (
        lemmas & lexicon.ESTIMATE_VERBS
        or "estimates suggest" in low
        or (not lowered.isdisjoint(_HEDGE_WORDS) and _HEDGED_NUMBER.search(body))
    ):
        return "estimated"
    # Lower case only: "may" hedges, "May" is a month.
    if (
        lemmas & lexicon.SPECULATIVE_VERBS
        or not words.isdisjoint(lexicon.SPECULATIVE_WORDS)
        or any(phrase in low for phrase in lexicon.SPECULATIVE_PHRASES)
    ):
        return "speculative"
    if lemmas & lexicon.CLAIM_VERBS or not lowered.isdisjoint(lexicon.CLAIM_WORDS):
        return "claimed"
    if lemmas & lexicon.CONFIRM_VERBS or not lowered.isdisjoint(lexicon.CONFIRM_WORDS):
        return "confirmed"
    if len(set(source_names)) >= 3:
        return "confirmed"  # several independent sources say the same
    return "asserted"


def sounds_like_opinion(body: str) -> bool:
    """Advice or a first-person view in the article's own voice."""
    outside_quotes = _QUOTED.sub(" ", body)
    words = {w.lower() for w in _WORD.findall(outside_quotes)}
    return bool(words & lexicon.OPINION_WORDS)
