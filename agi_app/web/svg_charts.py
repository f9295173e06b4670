"""Charts as plain SVG text, drawn on the server: no JavaScript library, no build step.

Each chart scales to its container (viewBox), names itself for screen readers (role="img",
<title>), and carries its numbers as text too (axis maximum, legend), so that a wall screen,
a laptop and a test read the same thing. Labels are escaped; values are numbers.
"""

from collections.abc import Sequence
from html import escape

_W, _H = 480, 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 10, 28, 34
_CHAR_W, _LABEL_GAP = 7.2, 8  # an axis label's character width, and the room between labels
COLOURS = ("#2f6fdb", "#e07b00")  # callbacks, live callers (distinct for colour blindness)


def _nice_max(value: float) -> int:
    for top in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= top:
            return top
    return int(value) + 1


def _frame(names: Sequence[str], top: int, labels: list[tuple[float, str]]) -> str:
    plot_h = _H - _TOP - _BOTTOM
    parts = [
        f'<line x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_W - _RIGHT}" y2="{_H - _BOTTOM}" '
        'stroke="#8895a3"/>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_H - _BOTTOM}" stroke="#8895a3"/>',
        f'<text x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end" class="axis">{top}</text>',
        f'<text x="{_LEFT - 6}" y="{_H - _BOTTOM + 4}" text-anchor="end" class="axis">0</text>',
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h / 2}" x2="{_W - _RIGHT}" '
        f'y2="{_TOP + plot_h / 2}" stroke="#e5e9ee"/>',
    ]
    right_of_last = -1e9
    for x, label in labels:
        anchor = "end" if x > _W - _RIGHT - 20 else "middle"  # the last label stays inside
        width = _CHAR_W * len(label)
        left = x - width if anchor == "end" else x - width / 2
        if left < right_of_last + _LABEL_GAP:
            continue  # it would touch the one before: left out
        right_of_last = left + width
        parts.append(
            f'<text x="{x:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="{anchor}" class="axis">'
            f"{escape(label)}</text>"
        )
    x = _LEFT
    for name, colour in zip(names, COLOURS, strict=False):
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="15" class="legend">{escape(name)}</text>')
        x += 14 + 8 * len(name) + 24
    return "".join(parts)


def _svg(title: str, body: str, summary: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{escape(title)}: {escape(summary)}" class="chart">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _label_every(count: int, room: int = 8) -> int:
    return max(1, -(-count // room))


def line_chart(
    title: str, times: Sequence[str], series: Sequence[Sequence[int]], names: Sequence[str]
) -> str:
    """One step line per series over ``times`` (labels already in the centre's time zone)."""
    if not times:
        return _svg(title, '<text x="50%" y="50%" text-anchor="middle">no data yet</text>', "")
    top = _nice_max(max((max(s, default=0) for s in series), default=0))
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    n = len(times)

    def x(i: int) -> float:
        return _LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: int) -> float:
        return _TOP + plot_h * (1 - v / top)

    every = _label_every(n)
    labels = [(x(i), times[i]) for i in range(0, n, every)]
    body = _frame(names, top, labels)
    for values, colour in zip(series, COLOURS, strict=False):
        points: list[str] = []
        for i, v in enumerate(values):
            if points:
                points.append(f"{x(i):.1f},{y(values[i - 1]):.1f}")  # a step: holds until now
            points.append(f"{x(i):.1f},{y(v):.1f}")
        drawn = " ".join(points)
        body += f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{drawn}"/>'
    latest = ", ".join(f"{name} {s[-1]}" for name, s in zip(names, series, strict=False) if s)
    return _svg(title, body, f"now {latest}; highest {top}")


def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[Sequence[int]], names: Sequence[str]
) -> str:
    """Grouped bars: one group per label, one bar per series, each bar's value on top."""
    if not labels:
        return _svg(title, '<text x="50%" y="50%" text-anchor="middle">no data yet</text>', "")
    top = _nice_max(max((max(s, default=0) for s in series), default=0))
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    group = plot_w / len(labels)
    bar = min(28.0, group * 0.8 / max(1, len(series)))
    every = _label_every(len(labels), 10)
    axis = [(_LEFT + group * (i + 0.5), label) for i, label in enumerate(labels) if i % every == 0]
    body = _frame(names, top, axis)
    for k, (values, colour) in enumerate(zip(series, COLOURS, strict=False)):
        for i, v in enumerate(values):
            h = plot_h * v / top
            bx = _LEFT + group * (i + 0.5) - bar * len(series) / 2 + bar * k
            body += (
                f'<rect x="{bx:.1f}" y="{_TOP + plot_h - h:.1f}" width="{bar - 2:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(names[k])} '
                f"{escape(labels[i])}: {v}</title></rect>"
            )
            if v:
                body += (
                    f'<text x="{bx + bar / 2 - 1:.1f}" y="{_TOP + plot_h - h - 3:.1f}" '
                    f'text-anchor="middle" class="value">{v}</text>'
                )
    totals = ", ".join(f"{name} {sum(s)}" for name, s in zip(names, series, strict=False))
    return _svg(title, body, f"in all {totals}")
