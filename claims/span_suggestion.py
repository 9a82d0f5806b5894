"""The suggestion for a span a manager drew by hand (a split part, a merged claim, new bounds).

The splitter never proposed such a span, so ``attribution.analyse`` has no
suggestion for it as is. Where the span is made of whole claims the splitter
finds in the body, those are read in the article's context (so "he said"
still resolves to the speaker named earlier) and joined into one suggestion;
otherwise the span's own text is read alone. Plain strings in, a
``ClaimSuggestion`` with offsets into the article body out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from claims.attribution import ClaimSuggestion, SourceMention, analyse
from claims.segment import CLAIM, NOT_A_CLAIM


def suggest_for_span(
    body: str,
    start: int,
    end: int,
    *,
    split_compound: bool = True,
    aliases: Mapping[str, str] | None = None,
) -> ClaimSuggestion:
    """One suggestion for ``body[start:end]``, with offsets into ``body``."""
    if not 0 <= start < end <= len(body):
        raise ValueError(f"span {start}:{end} is not inside a body of {len(body)} characters")
    aliases = aliases or {}
    inside = [
        suggestion
        for suggestion in analyse(body, split_compound=split_compound, aliases=aliases)
        if start <= suggestion.start and suggestion.end <= end
    ]
    if not inside or inside[0].start != start or inside[-1].end != end:
        inside = [
            _shifted(suggestion, start)
            for suggestion in analyse(
                body[start:end], split_compound=split_compound, aliases=aliases
            )
        ]
    return _joined(inside, body, start, end)


def _shifted(suggestion: ClaimSuggestion, offset: int) -> ClaimSuggestion:
    """A suggestion read from a slice, moved to offsets into the whole body."""

    def move(position: int | None) -> int | None:
        return None if position is None else position + offset

    sources = tuple(
        dataclasses.replace(mention, start=move(mention.start), end=move(mention.end))
        for mention in suggestion.sources
    )
    cue = suggestion.cue
    if cue is not None:
        cue = dataclasses.replace(cue, start=cue.start + offset, end=cue.end + offset)
    return dataclasses.replace(
        suggestion,
        start=suggestion.start + offset,
        end=suggestion.end + offset,
        sources=sources,
        cue=cue,
    )


def _joined(parts: Sequence[ClaimSuggestion], body: str, start: int, end: int) -> ClaimSuggestion:
    """Several suggestions as one for the span that holds them all.

    The first part that is a claim decides kind and confidence (a merged
    claim is usually a claim plus its continuation); sources are all of them,
    in text order, each once; the cue is the first one found.
    """
    text = body[start:end]
    if not parts:
        return ClaimSuggestion(start, end, text, CLAIM, (), None, None)
    claims = [part for part in parts if part.kind != NOT_A_CLAIM] or list(parts)
    sources: list[SourceMention] = []
    seen: set[tuple[str, int | None, int | None]] = set()
    for part in parts:
        for mention in part.sources:
            key = (mention.name, mention.start, mention.end)
            if key not in seen:
                seen.add(key)
                sources.append(mention)
    return ClaimSuggestion(
        start=start,
        end=end,
        text=text,
        kind=claims[0].kind,
        sources=tuple(sources),
        cue=next((part.cue for part in parts if part.cue is not None), None),
        confidence=next((part.confidence for part in claims if part.confidence), None),
    )
