"""Charts drawn on the server as SVG: no script, no request anywhere, readable in black and white.

Tiers are told apart by fill, not colour: Tier 1 white with an outline, Tier 2 hatched,
Tier 3 solid black, the same in every chart and in the legend. Every chart has a text
alternative (``aria-label``) and the page puts the table it was drawn from beside it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from itertools import count

__all__ = ["bars", "columns", "legend", "tier_columns", "tier_bars"]

_IDS = count(1)
_FILL = {1: "#fff", 3: "#111"}
_BAR = "#444"


def _svg(width: int, height: int, label: str, body: str, *, hatch: str = "") -> str:
    defs = (f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="#111" stroke-width="2.5"/></pattern>'
            f'</defs>') if hatch else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html.escape(label)}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'class="chart">{defs}{body}</svg>')


def _fill(tier: int, hatch: str) -> str:
    return _FILL.get(tier, f"url(#{hatch})")


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-family="system-ui, sans-serif" fill="#111">{html.escape(text)}</text>')


def legend(tiers: Sequence[int] = (1, 2, 3)) -> str:
    """The tiers' fills, as a small SVG to put above a tier chart."""
    hatch = f"h{next(_IDS)}"
    parts = []
    for i, tier in enumerate(tiers):
        x = i * 90
        parts.append(f'<rect x="{x + 1}" y="3" width="14" height="14" fill="{_fill(tier, hatch)}" '
                     f'stroke="#111"/>' + _text(x + 20, 14, f"Tier {tier}"))
    return _svg(90 * len(tiers), 20, "Legend: Tier 1 white, Tier 2 hatched, Tier 3 black",
                "".join(parts), hatch=hatch)


def tier_columns(buckets: Sequence[tuple[str, Mapping[int, int]]], *, label: str,
                 width: int = 720, height: int = 180) -> str:
    """One column per day, split by tier into shares of the day's tickets (100% high)."""
    hatch = f"h{next(_IDS)}"
    left, bottom, top = 34, 20, 6
    plot_h = height - bottom - top
    step = (width - left) / max(len(buckets), 1)
    parts = [_text(left - 4, top + 8, "100%", anchor="end"),
             _text(left - 4, height - bottom, "0%", anchor="end"),
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" '
             f'stroke="#111"/>']
    for i, (key, tiers) in enumerate(buckets):
        total = sum(tiers.values())
        x, y = left + i * step, float(height - bottom)
        for tier in (1, 2, 3):
            share = tiers.get(tier, 0) / total if total else 0
            if share:
                h = share * plot_h
                y -= h
                parts.append(f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(step - 1, 1):.1f}" '
                             f'height="{h:.1f}" fill="{_fill(tier, hatch)}" stroke="#111" '
                             f'stroke-width="0.5"/>')
        if i % max(len(buckets) // 6, 1) == 0:
            parts.append(_text(x, height - 5, key[5:] if len(key) == 10 else key))
    return _svg(width, height, label, "".join(parts), hatch=hatch)


def tier_bars(items: Sequence[tuple[str, Mapping[int, int]]], *, label: str,
              width: int = 520) -> str:
    """One bar per row, split by tier into shares of the row's tickets, with the count."""
    hatch = f"h{next(_IDS)}"
    left, row_h, bar_w = 130, 22, width - 130 - 60
    parts = []
    for i, (name, tiers) in enumerate(items):
        total = sum(tiers.values())
        y, x = i * row_h + 3, float(left)
        parts.append(_text(left - 6, y + 13, _short(name), anchor="end"))
        for tier in (1, 2, 3):
            w = tiers.get(tier, 0) / total * bar_w if total else 0
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="16" '
                             f'fill="{_fill(tier, hatch)}" stroke="#111" stroke-width="0.7"/>')
                x += w
        parts.append(_text(left + bar_w + 6, y + 13, str(total)))
    return _svg(width, max(len(items), 1) * row_h + 6, label, "".join(parts), hatch=hatch)


def bars(items: Sequence[tuple[str, float]], *, label: str, unit: str = "",
         width: int = 520) -> str:
    """Horizontal bars, longest for the largest value, each with its value written out."""
    left, row_h = 130, 22
    bar_w = width - left - 70
    top = max((v for _, v in items), default=0) or 1
    parts = []
    for i, (name, value) in enumerate(items):
        y = i * row_h + 3
        parts.append(_text(left - 6, y + 13, _short(name), anchor="end"))
        parts.append(f'<rect x="{left}" y="{y}" width="{max(value / top * bar_w, 0.5):.1f}" '
                     f'height="16" fill="{_BAR}"/>')
        parts.append(_text(left + value / top * bar_w + 6, y + 13, f"{_num(value)}{unit}"))
    return _svg(width, max(len(items), 1) * row_h + 6, label, "".join(parts))


def columns(items: Sequence[tuple[str, float]], *, label: str, width: int = 720,
            height: int = 150) -> str:
    """Vertical columns (e.g. per hour of day), labelled below every few."""
    left, bottom, top_pad = 34, 20, 14
    plot_h = height - bottom - top_pad
    top = max((v for _, v in items), default=0) or 1
    step = (width - left) / max(len(items), 1)
    parts = [_text(left - 4, top_pad + 8, _num(top), anchor="end"),
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" '
             f'stroke="#111"/>']
    for i, (name, value) in enumerate(items):
        h = value / top * plot_h
        x = left + i * step
        parts.append(f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" '
                     f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{_BAR}"/>')
        if i % max(len(items) // 12, 1) == 0:
            parts.append(_text(x + step / 2, height - 5, name, anchor="middle"))
    return _svg(width, height, label, "".join(parts))


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _num(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
