"""A stacked bar chart of principal and interest per installment, drawn as inline SVG on the
server: no JavaScript chart library and nothing fetched from a CDN."""

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
