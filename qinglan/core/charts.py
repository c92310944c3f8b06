"""Charts drawn on the server as SVG (no script, printable, readable without JavaScript):
`column_chart` for values over periods (one or more series side by side) and `bar_chart` for
rankings (horizontal bars with their labels). Both return what the templates
``core/chart_columns.html`` and ``core/chart_bars.html`` draw; every bar carries its exact
value as a tooltip, and the data is also given as rows for a table beside the chart."""

import math
from dataclasses import dataclass, field
from decimal import Decimal

from .detail import decimal_text

WIDTH = 640
LEFT = 64
RIGHT = 8
TOP = 10
BOTTOM = 34
SERIES_CLASSES = ("ql-chart-s0", "ql-chart-s1", "ql-chart-s2", "ql-chart-s3")


def nice_ceiling(value):
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (the top of the value axis)."""
    if value <= 0:
        return Decimal(1)
    exponent = math.floor(math.log10(float(value)))
    for step in (1, 2, 2.5, 5, 10):
        top = Decimal(str(step)) * Decimal(10) ** exponent
        if top >= value:
            return top
    return Decimal(10) ** (exponent + 1)


def short_number(value):
    """Axis labels: 1,500 → "1.5k", 2,000,000 → "2M" (plain below a thousand)."""
    value = Decimal(value)
    for size, suffix in ((Decimal(10) ** 9, "G"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")):
        if abs(value) >= size:
            return f"{(value / size).quantize(Decimal('0.01')).normalize():f}{suffix}"
    return f"{value.quantize(Decimal('0.01')).normalize():f}"


@dataclass
class Chart:
    title: str
    height: int
    width: int = WIDTH
    bars: list = field(default_factory=list)
    ticks: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    legend: list = field(default_factory=list)
    empty: bool = False


def column_chart(title, labels, series, *, height=220, places=2):
    """`labels`: one per period; `series`: [(name, [value per period])]. Negative values are
    drawn as zero (charts here show amounts earned, not balances)."""
    count = max(len(labels), 1)
    values = [Decimal(v or 0) for _name, data in series for v in data]
    top = nice_ceiling(max(values + [Decimal(0)]))
    chart = Chart(title=title, height=height)
    chart.empty = not any(values)
    plot_height = height - TOP - BOTTOM
    plot_width = WIDTH - LEFT - RIGHT
    slot = plot_width / count
    gap = slot * 0.2
    bar_width = (slot - gap) / max(len(series), 1)
    for step in range(5):
        value = top * step / 4
        y = TOP + plot_height - float(value / top) * plot_height
        chart.ticks.append({"y": round(y, 1), "label": short_number(value)})
    for index, label in enumerate(labels):
        x = LEFT + index * slot
        chart.labels.append({"x": round(x + slot / 2, 1), "y": height - BOTTOM + 16, "text": label, "show": count <= 12 or index % math.ceil(count / 12) == 0})
        for number, (name, data) in enumerate(series):
            value = Decimal(data[index] or 0)
            bar_height = float(max(value, Decimal(0)) / top) * plot_height
            chart.bars.append({
                "x": round(x + gap / 2 + number * bar_width, 1), "y": round(TOP + plot_height - bar_height, 1),
                "width": round(max(bar_width - 1, 1), 1), "height": round(bar_height, 1),
                "css": SERIES_CLASSES[number % len(SERIES_CLASSES)], "tip": f"{label} · {name}: {decimal_text(value, places)}",
            })
    chart.legend = [{"name": name, "css": SERIES_CLASSES[number % len(SERIES_CLASSES)]} for number, (name, _data) in enumerate(series)]
    chart.axis_y = TOP + plot_height
    chart.left = LEFT
    chart.right = WIDTH - RIGHT
    return chart


def bar_chart(title, rows, *, places=2, row_height=24, width=420):
    """`rows`: [(label, value, url or None)] biggest first: one horizontal bar each, the value
    written at its end (`width` fits a third of a page)."""
    values = [Decimal(value or 0) for _label, value, _url in rows]
    top = max(values + [Decimal(0)]) or Decimal(1)
    label_width = 130
    plot_width = width - label_width - 80
    chart = Chart(title=title, height=max(len(rows), 1) * row_height + 4, width=width)
    chart.empty = not rows
    for index, (label, value, url) in enumerate(rows):
        value = Decimal(value or 0)
        y = index * row_height + 2
        length = float(max(value, Decimal(0)) / top) * plot_width
        chart.bars.append({
            "label": label, "url": url, "label_x": label_width - 6, "x": label_width, "y": y, "width": round(max(length, 1), 1),
            "height": row_height - 8, "text_y": y + row_height / 2 + 1, "value_x": round(label_width + length + 6, 1),
            "value": decimal_text(value, places), "css": SERIES_CLASSES[0],
        })
    return chart
