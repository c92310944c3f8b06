"""Server-drawn SVG charts: axis scale and labels, bar geometry, tooltips with exact values."""

from decimal import Decimal

from django.template.loader import render_to_string

from qinglan.core import charts


def test_axis_top_and_labels():
    assert [charts.nice_ceiling(Decimal(v)) for v in ("121161", "0.3", "200", "0")] == [Decimal(200000), Decimal("0.5"), Decimal("200"), Decimal(1)]
    assert [charts.short_number(Decimal(v)) for v in (0, 999, 50000, 150000, 200000, 1250000, "12.5", 2500000000)] == [
        "0", "999", "50k", "150k", "200k", "1.25M", "12.5", "2.5G",
    ]


def test_columns_scale_to_the_largest_value_and_say_their_value():
    chart = charts.column_chart("每月", ["01", "02"], [("開票", [Decimal("1000"), Decimal("250")]), ("收款", [Decimal("500"), Decimal("-10")])])
    first, second, third, fourth = chart.bars
    assert first["height"] == 176.0 and third["height"] == 44.0  # the top is 1,000: 176 units of plot height
    assert second["height"] == 88.0 and fourth["height"] == 0.0  # a negative value is drawn as nothing
    assert first["tip"] == "01 · 開票: 1,000.00" and fourth["tip"] == "02 · 收款: -10.00"
    assert [tick["label"] for tick in chart.ticks] == ["0", "250", "500", "750", "1k"]
    html = render_to_string("core/chart_columns.html", {"chart": chart})
    assert html.count("<rect class=\"ql-chart-s") == 2 + 4  # the legend's two swatches and four bars
    assert "<title>01 · 開票: 1,000.00</title>" in html and "收款" in html


def test_bars_and_empty_charts():
    chart = charts.bar_chart("客戶", [("<b>大客戶</b>", Decimal("300"), "/customers/customer/1/"), ("小客戶", Decimal("150"), None)], places=0)
    assert chart.bars[0]["width"] == 210.0 and chart.bars[1]["width"] == 105.0
    html = render_to_string("core/chart_bars.html", {"chart": chart})
    assert "&lt;b&gt;大客戶&lt;/b&gt;" in html and "<b>" not in html and 'href="/customers/customer/1/"' in html and ">300<" in html
    assert charts.bar_chart("空", []).empty and "<svg" not in render_to_string("core/chart_bars.html", {"chart": charts.bar_chart("空", [])})
