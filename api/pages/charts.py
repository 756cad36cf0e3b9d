"""Chart geometry for server-rendered SVG (the template draws it): no JavaScript, no CDN, no plotting library.

Coordinates are in the SVG's own units; the template scales the picture to its box.
"""
from __future__ import annotations

from dataclasses import dataclass

LABEL_WIDTH, BAR_HEIGHT, GAP, CHART_WIDTH = 150, 22, 6, 560


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    height: float
    label_width: float = LABEL_WIDTH
    width: float = CHART_WIDTH


@dataclass(frozen=True)
class LineChart:
    title: str
    points: list[tuple[float, float, str, float]]   # x, y, label, value
    width: float
    height: float
    top: float          # the value at the top of the chart
    bottom: float


def bar_chart(title: str, values: dict[str, float]) -> BarChart:
    """Horizontal bars, one per label, longest for the largest value."""
    largest = max(values.values(), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - 60
    bars = [Bar(label, value, i * (BAR_HEIGHT + GAP), room * value / largest)
            for i, (label, value) in enumerate(values.items())]
    return BarChart(title, bars, max(len(bars), 1) * (BAR_HEIGHT + GAP))


def line_chart(title: str, values: list[tuple[str, float]], bottom: float = 1, top: float = 5,
               width: float = CHART_WIDTH, height: float = 180) -> LineChart:
    """A value per step (e.g. mean rating per week) between `bottom` and `top`, left to right."""
    pad = 30
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    span = (top - bottom) or 1
    points = [(pad + i * step, pad + (height - 2 * pad) * (top - v) / span, label, v)
              for i, (label, v) in enumerate(values)]
    return LineChart(title, points, width, height, top, bottom)
