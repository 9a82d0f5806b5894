"""How often annotators keep the workbench's suggestion as it was.

A label accepts the suggestion when its confidence equals the suggested one
and its set of sources equals the suggested set of canonical names (order,
case and runs of white space aside). Plain data in, counts out, so the figure
can be computed from the database, an export file or a test alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LabelAgainstSuggestion:
    """One annotation next to what was suggested for its claim."""

    confidence: str
    sources: Sequence[str]
    suggested_confidence: str
    suggested_sources: Sequence[str]


@dataclass(frozen=True, slots=True)
class Acceptance:
    labels: int = 0
    confidence_kept: int = 0
    sources_kept: int = 0
    both_kept: int = 0

    @property
    def rate(self) -> float | None:
        """Share of labels that kept both confidence and sources; None without labels."""
        return self.both_kept / self.labels if self.labels else None

    @property
    def confidence_rate(self) -> float | None:
        return self.confidence_kept / self.labels if self.labels else None

    @property
    def sources_rate(self) -> float | None:
        return self.sources_kept / self.labels if self.labels else None


def name_set(names: Iterable[str]) -> frozenset[str]:
    """Source names as compared: case and runs of white space aside, blanks left out."""
    return frozenset(" ".join(name.split()).casefold() for name in names if name.strip())


def measure(labels: Iterable[LabelAgainstSuggestion]) -> Acceptance:
    return measure_name_sets(
        (
            label.confidence or "",
            name_set(label.sources),
            label.suggested_confidence or "",
            name_set(label.suggested_sources),
        )
        for label in labels
    )


def measure_name_sets(
    labels: Iterable[tuple[str, frozenset[str], str, frozenset[str]]],
) -> Acceptance:
    """``measure`` for ``(confidence, sources, suggested confidence, suggested sources)``
    whose source names went through ``name_set`` already.

    A project's million labels name a few thousand distinct sets of sources, so
    the caller normalises each set once rather than once per label.
    """
    count = confidence_kept = sources_kept = both_kept = 0
    for confidence, sources, suggested_confidence, suggested_sources in labels:
        count += 1
        same_confidence = confidence == suggested_confidence
        same_sources = sources == suggested_sources
        confidence_kept += same_confidence
        sources_kept += same_sources
        both_kept += same_confidence and same_sources
    return Acceptance(count, confidence_kept, sources_kept, both_kept)
