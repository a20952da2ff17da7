"""The årshjul: the year's meetings drawn round a circle, as Swedish public bodies print it.

Plain SVG written by hand (no drawing library needed): twelve month sectors,
one ring per body, a dot per meeting, and the board meetings' themes written
outside the wheel so they can be read on paper.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

MONTHS = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
PALETTE = ("#1f3a5f", "#2e7d5b", "#b5651d", "#7b3f8c", "#a83232", "#4a6fa5")
WIDTH, HEIGHT = 1300, 1060
CX, CY = WIDTH / 2, 510
OUTER = 300
INNER = 110
LABEL_CHARS = 36


def _angle(day: date) -> float:
    """Radians, January 1st at the top, clockwise."""
    start = date(day.year, 1, 1)
    days = (date(day.year + 1, 1, 1) - start).days
    return 2 * math.pi * ((day - start).days + 0.5) / days - math.pi / 2


def _point(angle: float, radius: float) -> tuple[float, float]:
    return CX + radius * math.cos(angle), CY + radius * math.sin(angle)


def svg(
    title: str, year: int, meetings: list[dict[str, Any]], bodies: list[tuple[str, str]]
) -> str:
    """`bodies` are (key, name) from the outer ring inwards; meetings carry body, date, theme."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, Arial, sans-serif">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{CX}" y="44" text-anchor="middle" font-size="28" font-weight="bold" '
        f'fill="#1f3a5f">{escape(title)}</text>',
    ]
    ring = (OUTER - INNER) / max(len(bodies), 1)
    for i, (_, _name) in enumerate(bodies):
        r = OUTER - i * ring
        fill = "#f3f6fa" if i % 2 == 0 else "#e6ecf4"
        parts.append(
            f'<circle cx="{CX}" cy="{CY}" r="{r:.1f}" fill="{fill}" '
            'stroke="#c4cedb" stroke-width="1"/>'
        )
    parts.append(f'<circle cx="{CX}" cy="{CY}" r="{INNER}" fill="#ffffff" stroke="#c4cedb"/>')
    for month in range(12):
        a = _angle(date(year, month + 1, 1)) - math.pi / 365
        x1, y1 = _point(a, INNER)
        x2, y2 = _point(a, OUTER + 20)
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            'stroke="#8796aa" stroke-width="1.5"/>'
        )
        mid = _angle(date(year, month + 1, 15))
        lx, ly = _point(mid, INNER - 22)
        parts.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" '
            f'dominant-baseline="middle" font-size="15" fill="#1f3a5f">'
            f"{MONTHS[month][:3]}</text>"
        )
    parts.append(
        f'<text x="{CX}" y="{CY}" text-anchor="middle" '
        f'dominant-baseline="middle" font-size="44" font-weight="bold" '
        f'fill="#1f3a5f">{year}</text>'
    )
    index = {key: i for i, (key, _) in enumerate(bodies)}
    labels = []
    for m in meetings:
        for body in (m["body"], *m.get("joint_with", [])):
            if body not in index:
                continue
            i = index[body]
            day = date.fromisoformat(m["date"])
            a = _angle(day)
            x, y = _point(a, OUTER - (i + 0.5) * ring)
            colour = PALETTE[i % len(PALETTE)]
            cancelled = m.get("status") == "cancelled"
            fill = "#ffffff" if cancelled else colour
            tip = f"{m['date']} {m.get('body_name', m['body'])}: {m.get('theme', '')}"
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{fill}" '
                f'stroke="{colour}" stroke-width="2"><title>{escape(tip)}</title>'
                "</circle>"
            )
            if i == 0 and m.get("theme"):
                labels.append((a, day, m["theme"], cancelled))
    for a, day, theme, cancelled in labels:
        x1, y1 = _point(a, OUTER + 4)
        x2, y2 = _point(a, OUTER + 34)
        anchor = "start" if math.cos(a) >= 0 else "end"
        tx, ty = _point(a, OUTER + 40)
        text = f"{day.day} {MONTHS[day.month - 1][:3]}: {theme}"
        if len(text) > LABEL_CHARS:
            text = text[: LABEL_CHARS - 1] + "…"
        style = ' text-decoration="line-through"' if cancelled else ""
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            'stroke="#1f3a5f" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" '
            f'dominant-baseline="middle" font-size="13" fill="#111"{style}>'
            f"{escape(text)}</text>"
        )
    y = CY + OUTER + 90
    for i, (_key, name) in enumerate(bodies):
        x = 160 + (i % 3) * 340
        row = y + (i // 3) * 32
        parts.append(f'<circle cx="{x}" cy="{row}" r="9" fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(
            f'<text x="{x + 18}" y="{row}" dominant-baseline="middle" font-size="16" '
            f'fill="#111">{escape(name)}{" (yttre ringen)" if i == 0 else ""}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
