"""Bar charts drawn on the server as SVG, for the statistics page.

No chart script: the desk's CSP allows none inline, and the numbers are the
point. These functions work out where each bar goes; the template
(``desk/_charts.html``) draws them, with a title and a description, beside a
table of the same numbers. Colours come from the stylesheet (classes), never
from style attributes, which the CSP refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str  # a CSS class: its colour
    label: str  # what the bar is, for the tooltip (the SVG <title> of the bar)


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Text]  # along the axis: steps, or days
    values: list[Text]  # numbers shown on the chart itself
    gridlines: list[Text]  # y (or x) of each line and its number
    axis: tuple[float, float, float, float]  # x1, y1, x2, y2 of the base line


def nice_top(largest: int) -> int:
    """A round number at least `largest`, for the top of the scale (at least 1)."""
    if largest <= 5:
        return max(largest, 1)
    magnitude = 10 ** math.floor(math.log10(largest))
    for step in (1, 2, 2.5, 5, 10):
        top = math.ceil(largest / (step * magnitude)) * step * magnitude
        if top / (step * magnitude) <= 5:
            return int(top)
    return largest


def _ticks(top: int) -> list[int]:
    if top <= 5:
        return list(range(top + 1))
    return [round(top * n / 4) for n in range(5)]


def horizontal_bars(rows: list[tuple[str, int]], *, width: int = 640, label_width: int = 220) -> Chart:
    """One bar a row, label on the left and the number at the bar's end."""
    row_height, bar_height, top_margin = 36, 22, 8
    plot = width - label_width - 48
    scale = nice_top(max((value for _, value in rows), default=0))
    bars, labels, values = [], [], []
    for n, (label, value) in enumerate(rows):
        y = top_margin + n * row_height
        length = plot * value / scale
        bars.append(Bar(label_width, y, length, bar_height, value, "given-up", f"{label}: {value}"))
        labels.append(Text(label_width - 8, y + bar_height * 0.75, label))
        values.append(Text(label_width + length + 6, y + bar_height * 0.75, str(value)))
    height = top_margin * 2 + row_height * len(rows)
    return Chart(
        width=width,
        height=height,
        bars=bars,
        labels=labels,
        values=values,
        gridlines=[],
        axis=(label_width, top_margin / 2, label_width, height - top_margin),
    )


def day_columns(days: list[date], series: list[tuple[str, str, list[int]]], *, width: int = 720) -> Chart:
    """Bars side by side for each day (one a series: css class, name, values),
    a scale on the left, and every fifth day named under the axis."""
    left, right, top, bottom, height = 44, 8, 12, 36, 260
    plot_width, plot_height = width - left - right, height - top - bottom
    scale = nice_top(max((v for _, _, values in series for v in values), default=0))
    slot = plot_width / max(len(days), 1)
    bar_width = slot * 0.8 / max(len(series), 1)
    bars, labels = [], []
    for n, day in enumerate(days):
        x0 = left + n * slot + slot * 0.1
        for s, (css, name, values) in enumerate(series):
            value = values[n]
            bar_height = plot_height * value / scale
            bars.append(
                Bar(
                    x0 + s * bar_width,
                    top + plot_height - bar_height,
                    bar_width,
                    bar_height,
                    value,
                    css,
                    f"{day:%b} {day.day}, {name}: {value}",
                )
            )
        if (len(days) - 1 - n) % 5 == 0:
            labels.append(Text(left + n * slot + slot / 2, height - bottom + 18, f"{day:%b} {day.day}"))
    gridlines = [
        Text(left, top + plot_height - plot_height * tick / scale, str(tick)) for tick in _ticks(scale)
    ]
    return Chart(
        width=width,
        height=height,
        bars=bars,
        labels=labels,
        values=[],
        gridlines=gridlines,
        axis=(left, top + plot_height, width - right, top + plot_height),
    )
