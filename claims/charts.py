"""Bar charts as geometry for server-drawn SVG: plain numbers in, rectangles out.

The dashboard's template draws the ``<svg>`` from a :class:`BarChart`; the
same numbers stand in a table beside it, so the chart needs no script, no
styles of its own and is readable without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str
    """The value as written at the end of the bar."""
    y: float
    length: float
    text_y: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    bar_height: int
    value_x_offset: int = 4

    @property
    def plot_width(self) -> int:
        return self.width - self.label_width

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    width: int = 480,
    label_width: int = 150,
    bar_height: int = 18,
    gap: int = 6,
    maximum: float | None = None,
    percent: bool = False,
) -> BarChart:
    """Horizontal bars, one per ``(label, value)``, scaled to the largest value (or ``maximum``).

    Room is kept at the end of the longest bar for its number. ``percent``
    writes values in 0..1 as percentages.
    """
    value_room = 56
    plot = width - label_width - value_room
    top = max([maximum or 0.0, *(value for _, value in rows)], default=0.0)
    bars = []
    for position, (label, value) in enumerate(rows):
        y = gap + position * (bar_height + gap)
        length = plot * value / top if top > 0 else 0.0
        shown = f"{value * 100:.0f}%" if percent else _number(value)
        bars.append(
            Bar(
                label=label,
                value=value,
                shown=shown,
                y=y,
                length=round(max(length, 0.0), 1),
                text_y=y + bar_height * 0.75,
            )
        )
    height = gap + len(rows) * (bar_height + gap)
    return BarChart(
        bars=bars,
        width=width,
        height=max(height, bar_height),
        label_width=label_width,
        bar_height=bar_height,
    )


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"
