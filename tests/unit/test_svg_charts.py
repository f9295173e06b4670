"""Server-drawn charts: well-formed SVG, named for screen readers, labels escaped."""

import itertools
import xml.etree.ElementTree as ET

from agi_app.web.svg_charts import bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bar_chart_has_one_bar_per_value_and_its_numbers_as_text() -> None:
    svg = bar_chart("Per half hour", ["09:00", "09:30"], [[3, 0], [2, 1]], ["requested", "served"])
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Per half hour: in all requested 3, served 3"
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [b.findtext(f"{SVG}title") for b in bars] == [
        "requested 09:00: 3", "requested 09:30: 0", "served 09:00: 2", "served 09:30: 1",
    ]  # fmt: skip
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"] == [
        "3", "2", "1",
    ]  # fmt: skip


def test_line_chart_steps_and_scales_to_a_round_maximum() -> None:
    svg = line_chart("Waiting", ["09:00", "09:05", "09:10"], [[0, 3, 1], [1, 1, 0]], ["a", "b"])
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}polyline"))) == 2
    assert "5" in [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "axis"]
    assert root.get("aria-label") == "Waiting: now a 1, b 0; highest 5"


def test_labels_are_escaped_and_an_empty_chart_says_so() -> None:
    svg = bar_chart("<b>", ["<script>"], [[1]], ['"x"'])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)
    empty = ET.fromstring(line_chart("Waiting", [], [], []))
    assert [t.text for t in empty.iter(f"{SVG}text")] == ["no data yet"]


def test_axis_labels_never_touch() -> None:
    """The last label is drawn inward (text-anchor end), so it needs more room."""
    times = [f"{9 + m // 6:02d}:{m % 6 * 10:02d}" for m in range(42)] + ["16:30"]
    root = ET.fromstring(line_chart("Waiting", times, [[0] * 43], ["a"]))
    spans = []
    for t in root.iter(f"{SVG}text"):
        if ":" in (t.text or ""):
            x, width = float(t.get("x", 0)), 7.2 * len(t.text or "")
            left = x - width if t.get("text-anchor") == "end" else x - width / 2
            spans.append((left, left + width))
    assert len(spans) >= 4
    assert all(b[0] - a[1] >= 8 for a, b in itertools.pairwise(spans))
