"""Charts drawn as inline SVG on the server (a stacked bar chart of principal and interest per
installment; bars, lines and sparklines for the instruments): no JavaScript chart library and
nothing fetched from a CDN."""

from decimal import Decimal

from django.utils.html import escape

PRINCIPAL_COLOUR = "#1f4e79"
INTEREST_COLOUR = "#e67e22"


def principal_interest_svg(installments, *, width: int = 900, height: int = 260) -> str:
    items = list(installments)
    if not items:
        return ""
    left, bottom, top = 60, 24, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max((i.principal + i.interest for i in items), default=Decimal(1)) or Decimal(1)
    slot = plot_w / len(items)
    bar = max(slot * 0.8, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="principal and interest per installment" class="bo-split-chart">'
    ]
    for k in range(5):
        value = peak * k / 4
        y = top + plot_h - float(value / peak) * plot_h
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{value:,.0f}</text>')
    step = max(1, len(items) // 12)
    for index, item in enumerate(items):
        x = left + index * slot + (slot - bar) / 2
        p_h = float(item.principal / peak) * plot_h
        i_h = float(item.interest / peak) * plot_h
        base = top + plot_h
        title = escape(f"#{item.number} {item.due_date}: principal {item.principal}, interest {item.interest}")
        parts.append(
            f'<g><title>{title}</title>'
            f'<rect x="{x:.2f}" y="{base - p_h:.2f}" width="{bar:.2f}" height="{p_h:.2f}" fill="{PRINCIPAL_COLOUR}"/>'
            f'<rect x="{x:.2f}" y="{base - p_h - i_h:.2f}" width="{bar:.2f}" height="{i_h:.2f}" '
            f'fill="{INTEREST_COLOUR}"/></g>'
        )
        if index % step == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 6}" font-size="11" '
                         f'text-anchor="middle">{item.number}</text>')
    parts.append("</svg>")
    return "".join(parts)


# The instruments' charts (data dashboard, cockpit, usage statistics): the same inline SVG.
SERIES_COLOURS = ("#1f4e79", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d35400")


def bars_svg(rows, *, width: int = 420, bar_height: int = 18, label: str = "") -> str:
    """Horizontal bars, one per ``(name, value)`` (Decimal or int), with the value written beside."""
    rows = [(str(name), value or 0) for name, value in rows]
    if not rows:
        return ""
    left, right, gap = 140, 90, 6
    peak = max((value for _name, value in rows), default=0) or 1
    height = len(rows) * (bar_height + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(label)}" class="bo-bars">']
    for index, (name, value) in enumerate(rows):
        y = gap + index * (bar_height + gap)
        w = max(float(value) / float(peak) * (width - left - right), 0.0)
        parts.append(f'<text x="{left - 6}" y="{y + bar_height - 5}" font-size="12" text-anchor="end">'
                     f'{escape(name[:22])}</text>'
                     f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_height}" '
                     f'fill="{SERIES_COLOURS[index % len(SERIES_COLOURS)]}"/>'
                     f'<text x="{left + w + 4:.1f}" y="{y + bar_height - 5}" font-size="12">{value:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines_svg(series, *, labels, width: int = 620, height: int = 220, label: str = "", suffix: str = "") -> str:
    """One polyline per ``(name, [value or None, …])`` over the x ``labels``; a None is a gap."""
    series = [(str(name), list(values)) for name, values in series]
    values = [v for _name, points in series for v in points if v is not None]
    if not values or len(labels) < 1:
        return ""
    left, bottom, top, legend = 48, 22, 10, 130
    plot_w, plot_h = width - left - legend, height - bottom - top
    peak = max(values) or 1
    step = plot_w / max(len(labels) - 1, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(label)}" class="bo-lines">']
    for k in range(5):
        value = peak * k / 4
        y = top + plot_h - float(value / peak) * plot_h
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                     f'{float(value):,.1f}{suffix}</text>')
    for index, text in enumerate(labels):
        parts.append(f'<text x="{left + index * step:.1f}" y="{height - 6}" font-size="10" '
                     f'text-anchor="middle">{escape(str(text))}</text>')
    for number, (name, points) in enumerate(series):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        run, runs = [], []
        for index, value in enumerate(points):
            if value is None:
                runs, run = runs + [run] if run else runs, []
                continue
            run.append(f"{left + index * step:.1f},{top + plot_h - float(value / peak) * plot_h:.1f}")
        runs = runs + [run] if run else runs
        for points_text in runs:
            if len(points_text) == 1:
                x, y = points_text[0].split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
            else:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                             f'points="{" ".join(points_text)}"/>')
        parts.append(f'<rect x="{width - legend + 8}" y="{top + number * 16}" width="10" height="10" '
                     f'fill="{colour}"/><text x="{width - legend + 22}" y="{top + number * 16 + 9}" '
                     f'font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def sparkline_svg(values, *, width: int = 120, height: int = 32, colour: str = PRINCIPAL_COLOUR) -> str:
    """A trend without axes: the values (None skipped) scaled between their low and high."""
    points = [float(v) for v in values if v is not None]
    if len(points) < 2:
        return ""
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    step = (width - 4) / (len(points) - 1)
    coords = " ".join(f"{2 + i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}"
                      for i, v in enumerate(points))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" preserveAspectRatio="none" class="sparkline" aria-hidden="true">'
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" vector-effect="non-scaling-stroke" '
            f'points="{coords}"/></svg>')
