"""A session's report as one self-contained HTML file (inline CSS and SVG, no scripts).

Why self-contained: the therapist downloads it from the page and files it or
opens it on another machine offline, so nothing may point to a server or a
CDN. The figures are the ones ``rehab session`` writes to ``session.json``
(per goal: exercise, target, count, success, reason, mean confidence, and
each counted repetition's quality). Only numbers: no image of the patient.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#111;max-width:960px}
h1{font-size:24px}h2{font-size:19px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #999;padding:4px 8px;
text-align:right}th{background:#eee}td.l,th.l{text-align:left}
.ok{color:#0a7a2f;font-weight:bold}.no{color:#b00020;font-weight:bold}
svg{background:#fafafa;border:1px solid #ccc;margin:4px 8px 4px 0}
.plots{display:flex;flex-wrap:wrap}.note{color:#555;font-size:13px}
"""

#: (quality key, axis label, format) of the per-repetition plots and table
SERIES = (
    ("range_of_motion_deg", "range of motion (deg)", "{:.0f}"),
    ("tempo_s", "tempo: start to deepest point (s)", "{:.2f}"),
    ("duration_s", "duration (s)", "{:.2f}"),
    ("reference_distance", "distance to the reference (DTW)", "{:.2f}"),
)


def _num(v: Any) -> float | None:
    """A plottable value: finite, and not the -1 'no reference' marker."""
    if isinstance(v, (int, float)) and math.isfinite(v) and v != -1.0:
        return float(v)
    return None


def _fmt(v: Any, pattern: str = "{:.2f}") -> str:
    n = _num(v)
    return "-" if n is None else pattern.format(n)


def svg_series(values: Sequence[Any], label: str, width: int = 300, height: int = 150) -> str:
    """One quantity per repetition as a small line plot (empty string when nothing to plot)."""
    pts = [(i + 1, _num(v)) for i, v in enumerate(values)]
    pts = [(i, v) for i, v in pts if v is not None]
    if not pts:
        return ""
    left, right, top, bottom = 44, 10, 22, 26
    lo, hi = min(0.0, min(v for _, v in pts)), max(v for _, v in pts)
    hi = hi if hi > lo else lo + 1.0
    n = max(len(values), 2)

    def x(i: float) -> float:
        return left + (i - 1) / (n - 1) * (width - left - right)

    def y(v: float) -> float:
        return top + (1 - (v - lo) / (hi - lo)) * (height - top - bottom)

    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in pts)
    dots = "".join(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="#1565c0"/>'
                   for i, v in pts)
    ticks = "".join(
        f'<text x="{x(i):.1f}" y="{height - 8}" font-size="11" text-anchor="middle">{i}</text>'
        for i in range(1, len(values) + 1))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(label)}">'
        f'<text x="{left}" y="14" font-size="12">{html.escape(label)}</text>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
        f'stroke="#888"/>'
        f'<text x="{left - 4}" y="{top + 4}" font-size="11" text-anchor="end">{hi:.3g}</text>'
        f'<text x="{left - 4}" y="{height - bottom}" font-size="11" text-anchor="end">'
        f'{lo:.3g}</text>{ticks}'
        f'<polyline points="{line}" fill="none" stroke="#1565c0" stroke-width="2"/>{dots}</svg>')


def session_report_html(goals: Sequence[Mapping[str, Any]], title: str = "Exercise session",
                        subtitle: str = "") -> str:
    """The report page for ``goals`` (records as in ``session.json``)."""
    e = html.escape
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}"
           f"</title><style>{_CSS}</style></head><body><h1>{e(title)}</h1>"]
    if subtitle:
        out.append(f"<p class='note'>{e(subtitle)}</p>")
    if not goals:
        out.append("<p>No exercise goal has ended yet.</p>")
    else:
        out.append("<table id='goals'><tr><th>#</th><th class='l'>exercise</th><th>target</th>"
                   "<th>done</th><th class='l'>result</th><th class='l'>reason</th>"
                   "<th>mean confidence</th></tr>")
        for i, g in enumerate(goals, 1):
            ok = bool(g.get("success"))
            out.append(
                f"<tr><td>{i}</td><td class='l'>{e(str(g.get('exercise', '')))}</td>"
                f"<td>{int(g.get('repetitions_target', 0))}</td>"
                f"<td>{int(g.get('repetitions_done', 0))}</td>"
                f"<td class='l {'ok' if ok else 'no'}'>{'completed' if ok else 'not completed'}"
                f"</td><td class='l'>{e(str(g.get('reason', '')))}</td>"
                f"<td>{_fmt(g.get('mean_confidence'))}</td></tr>")
        out.append("</table>")
    for i, g in enumerate(goals, 1):
        quality = list(g.get("quality") or [])
        if not quality:
            continue
        out.append(f"<h2>Goal {i}: {e(str(g.get('exercise', '')))}, per repetition</h2>"
                   "<div class='plots'>")
        for key, label, _ in SERIES:
            out.append(svg_series([q.get(key) for q in quality], label))
        out.append("</div><table class='reps'><tr><th>rep</th><th>duration s</th>"
                   "<th>ROM deg</th><th class='l'>key joint</th><th>tempo s</th>"
                   "<th>DTW to reference</th></tr>")
        for k, q in enumerate(quality, 1):
            out.append(
                f"<tr><td>{k}</td><td>{_fmt(q.get('duration_s'))}</td>"
                f"<td>{_fmt(q.get('range_of_motion_deg'), '{:.1f}')}</td>"
                f"<td class='l'>{e(str(q.get('key_joint', '')))}</td>"
                f"<td>{_fmt(q.get('tempo_s'))}</td><td>{_fmt(q.get('reference_distance'))}"
                f"</td></tr>")
        out.append("</table>")
    out.append("<p class='note'>No images were stored: only numbers derived from the "
               "skeletons.</p></body></html>")
    return "\n".join(out)
