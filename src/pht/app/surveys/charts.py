"""Scores over time for the team: one series per instrument score, and a small SVG line chart
(drawn on the server as plain SVG: the pages run no chart script, and a handful of points
needs no chart library)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from pht.reference.surveys import instruments, text_in

W, H, PAD = 300, 90, 14


@dataclass
class Series:
    """One score of one instrument over time."""

    instrument: str
    item: str
    label: str
    low: float
    high: float
    need: float | None
    points: list[tuple[Any, float]] = field(default_factory=list)  # (date, value)

    @property
    def latest(self) -> float | None:
        return self.points[-1][1] if self.points else None

    @property
    def latest_text(self) -> str:
        v = self.latest
        return "" if v is None else number_format(v, decimal_pos=0 if v >= 10 else 1)

    @property
    def svg(self) -> SafeString:
        return chart_svg(self)


def series_for(responses: list[Any]) -> list[Series]:
    """Series of the submitted *responses* (oldest first), one per instrument score."""
    known = instruments()
    out: dict[tuple[str, str], Series] = {}
    for r in responses:
        ins = known.get(r.instrument)
        if ins is None:
            continue
        for s in ins.score:
            v = r.scores.get(s.item)
            if v is None:
                continue
            key = (ins.id, s.item)
            if key not in out:
                out[key] = Series(
                    ins.id, s.item, text_in(s.label, "nb"), s.min, s.max, s.need_at_or_below
                )
            out[key].points.append((timezone.localdate(r.submitted_at), float(v)))
    return list(out.values())


def chart_svg(s: Series) -> SafeString:
    """A small line chart of *s* with its need line, labelled for screen readers."""
    pts = s.points
    span = (s.high - s.low) or 1.0

    def y(v: float) -> float:
        return H - PAD - (v - s.low) / span * (H - 2 * PAD)

    if len(pts) == 1:
        xs = [W / 2]
    else:
        first, last = pts[0][0].toordinal(), pts[-1][0].toordinal()
        width = (last - first) or 1
        xs = [PAD + (d.toordinal() - first) / width * (W - 2 * PAD) for d, _ in pts]
    desc = "; ".join(f"{d:%d.%m.%Y}: {number_format(v, decimal_pos=1)}" for d, v in pts)
    parts = [
        f'<svg class="score-chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
        f'aria-label="{escape(s.label)}: {escape(desc)}">',
        f'<line x1="{PAD}" y1="{y(s.low):.1f}" x2="{W - PAD}" y2="{y(s.low):.1f}" '
        'stroke="#8a8a8a"/>',
    ]
    if s.need is not None:
        parts.append(
            f'<line x1="{PAD}" y1="{y(s.need):.1f}" x2="{W - PAD}" y2="{y(s.need):.1f}" '
            'stroke="#b00020" stroke-dasharray="4 3"/>'
        )
    if len(pts) > 1:
        line = " ".join(f"{x:.1f},{y(v):.1f}" for x, (_, v) in zip(xs, pts, strict=True))
        parts.append(f'<polyline points="{line}" fill="none" stroke="#005a9c" stroke-width="2"/>')
    for x, (d, v) in zip(xs, pts, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y(v):.1f}" r="4" fill="#005a9c"><title>'
            f"{d:%d.%m.%Y}: {escape(number_format(v, decimal_pos=1))}</title></circle>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
