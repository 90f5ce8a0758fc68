"""labeling/charts.py grouped_bar_chart_svg: a bar per (category, series), heights to scale, text escaped."""
import re

from labeling.charts import grouped_bar_chart_svg


def bars(svg: str) -> list[tuple[str, float]]:
    """(tooltip, height) of each bar."""
    return [(title, float(height)) for title, height in
            re.findall(r'<g><title>([^<]*)</title><rect [^>]*height="([\d.]+)"', svg)]


def test_bars_are_to_scale_and_none_draws_nothing():
    svg = grouped_bar_chart_svg(["v1", "v2"], [("harmful", [0.1, 0.2]), ("other", [None, 0.05])], label="rates")
    drawn = dict(bars(svg))
    assert set(drawn) == {"v1, harmful: 10.0%", "v2, harmful: 20.0%", "v2, other: 5.0%"}
    assert drawn["v2, harmful: 20.0%"] == 2 * drawn["v1, harmful: 10.0%"] == 4 * drawn["v2, other: 5.0%"]


def test_a_fixed_top_and_numbers_for_scores():
    svg = grouped_bar_chart_svg(["v1", "v2"], [("Mean score", [3.5, 7.0])], label="scores", high=7, percent=False)
    (low, high) = [height for _, height in bars(svg)]
    assert high == 2 * low and "v1, Mean score: 3.50" in svg and ">7<" in svg
    assert "<rect x=\"10\" y=\"2\"" not in svg  # one series: no legend


def test_the_legend_wraps_and_data_is_escaped():
    series = [(f"<flag {i}>", [0.1]) for i in range(5)]
    svg = grouped_bar_chart_svg(["<v1>"], series, label="a <label>")
    assert "<flag" not in svg.replace("&lt;flag", "") and "&lt;v1&gt;" in svg and 'aria-label="a &lt;label&gt;"' in svg
    assert svg.count('width="10" height="10"') == 5 and 'y="18"' in svg  # three to a row, the rest below
