"""How the sale dashboard draws (inventory/dashboard.py has the figures):
inventory's tiles, the venue coloured by how full each section is, and the
last hour's charts as server-rendered SVG (no chart library, no script: the
page swaps the whole body in on each poll).

Numbers a reader reads are localized (``human``); numbers the browser reads
(SVG coordinates) are plain strings from seatmap._n, never localized."""

from __future__ import annotations

import math
import time
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory import dashboard
from inventory.models import Event, Section
from inventory.seatmap import Box, _labels, _n, _stage, _view_box, layout


def human(value: float | int | Decimal, decimals: int = 0) -> str:
    """A number for the reader, in their language: "12.345", "1.234,50"."""
    return str(formats.number_format(value, decimal_pos=decimals, force_grouping=True))


def percent(share: float | None) -> str:
    return "—" if share is None else f"{human(share * 100, 1)} %"


def money(amount: str | Decimal, currency: str) -> str:
    return f"{human(Decimal(amount), 0)} {'€' if currency.upper() == 'EUR' else currency.upper()}"


# --- inventory's tiles --------------------------------------------------------------


def inventory_view(event: Event, data: dict[str, Any], series: dict[str, float]) -> dashboard.Figures:
    capacity = data["capacity"]
    sold_share = data["sold"] / capacity if capacity else 0.0
    rate = data["error_rate"]
    holds = data["hold_attempts"]
    tiles = [
        dashboard.Tile(
            "sold",
            gettext("Sold"),
            human(data["sold"]),
            gettext("%(share)s of %(capacity)s") % {"share": percent(sold_share), "capacity": human(capacity)},
        ),
        dashboard.Tile(
            "held",
            gettext("Held"),
            human(data["held"]),
            gettext("places in carts or paying; %(orders)s open orders") % {"orders": human(data["holds_open"])},
        ),
        dashboard.Tile(
            "revenue",
            gettext("Revenue"),
            money(data["revenue"], data["currency"]),
            gettext("%(orders)s paid orders") % {"orders": human(data["orders_paid"])},
        ),
        dashboard.Tile(
            "error_rate",
            gettext("Error rate"),
            percent(rate),
            gettext("holds answered with a server error, last 5 min; %(refused)s refused in all")
            % {"refused": human(holds["refused"])},
            tone="" if rate is None or rate < 0.01 else ("warn" if rate < 0.05 else "bad"),
        ),
    ]
    return dashboard.Figures(data=data, tiles=tiles, series=series)


def register_inventory_charts() -> None:
    dashboard.register_chart(
        dashboard.Chart(
            "sales",
            _("Places sold and held"),
            (
                dashboard.Line("sold", _("sold"), "#1f77b4"),
                dashboard.Line("held", _("held"), "#ff9f1c"),
            ),
            order=30,
        )
    )
    dashboard.register_chart(
        dashboard.Chart("revenue", _("Revenue"), (dashboard.Line("revenue", _("revenue"), "#2a9d8f"),), order=40)
    )
    dashboard.register_chart(
        dashboard.Chart(
            "holds",
            _("Hold attempts per minute"),
            (
                dashboard.Line("hold_attempts", _("all"), "#6c757d", per_minute=True),
                dashboard.Line("hold_refusals", _("refused"), "#ff9f1c", per_minute=True),
                dashboard.Line("hold_errors", _("server errors"), "#d62828", per_minute=True),
            ),
            order=50,
        )
    )


# --- the venue, coloured by how full each section is --------------------------------

# Empty to full, each legible under dark text.
FULLNESS = ("#eef6ee", "#cfe8c6", "#f6e7a1", "#f9c784", "#f39a6b", "#e5625c")


def fullness_colour(share: float) -> str:
    if share >= 1:
        return FULLNESS[-1]
    return FULLNESS[min(int(share * (len(FULLNESS) - 1)), len(FULLNESS) - 2)]


def venue_picture(
    event: Event, sections: list[dict[str, Any]], venue_sections: list[Section] | None = None
) -> SafeString:
    """The venue from above (inventory.seatmap's layout), each section
    filled by its share sold or held, with its code and percentage."""
    if venue_sections is None:
        venue_sections = list(Section.objects.filter(venue_id=event.venue_id).order_by("sort_order", "code"))
    if not venue_sections:
        return SafeString("")
    places, _derived = layout(venue_sections)
    by_code = {s["code"]: s for s in sections}
    boxes: list[SafeString] = []
    for section in venue_sections:
        box: Box = places[section.code]
        row = by_code.get(section.code, {"capacity": 0, "sold": 0, "held": 0})
        taken = row["sold"] + row["held"]
        share = taken / row["capacity"] if row["capacity"] else 0.0
        text = f"{human(share * 100)} %" if row["capacity"] else "—"  # whole percent: read at a glance
        label = _labels(box, section.code, text)
        title = gettext("%(name)s: %(sold)s sold, %(held)s held of %(capacity)s") % {
            "name": section.name,
            "sold": human(row["sold"]),
            "held": human(row["held"]),
            "capacity": human(row["capacity"]),
        }
        price_line = (
            format_html(
                '<text class="dv-share" x="{}" y="{}" font-size="{}" text-anchor="middle">{}</text>',
                label["x"],
                label["price_y"],
                label["price_size"],
                text,
            )
            if label["price_y"]
            else ""
        )
        boxes.append(
            format_html(
                '<g class="dv-section" data-code="{}" data-share="{}"><title>{}</title>'
                '<rect x="{}" y="{}" width="{}" height="{}" rx="6" fill="{}"></rect>'
                '<text class="dv-code" x="{}" y="{}" font-size="{}" text-anchor="middle" dominant-baseline="central">'
                "{}</text>{}</g>",
                section.code,
                _n(share),
                title,
                _n(box.left),
                _n(box.top),
                _n(box.w),
                _n(box.h),
                fullness_colour(share),
                label["x"],
                label["code_y"],
                label["size"],
                section.code,
                price_line,
            )
        )
    stage = _stage(list(places.values()))
    legend = format_html_join(
        "",
        '<li><span class="swatch" style="background: {}"></span>{}</li>',
        (
            (colour, f"{round(100 * i / (len(FULLNESS) - 1))} %")
            for i, colour in enumerate(FULLNESS)
            if i in (0, 2, 4, len(FULLNESS) - 1)
        ),
    )
    return format_html(
        '<figure class="dash-venue"><svg viewBox="{}" role="img" aria-label="{}">'
        '<rect class="dv-stage" x="{}" y="{}" width="{}" height="{}" rx="8"></rect>'
        '<text class="dv-stage-text" x="{}" y="{}" dy="27" text-anchor="middle">{}</text>{}</svg>'
        '<figcaption><ul class="dash-legend">{}</ul><span>{}</span></figcaption></figure>',
        _view_box([*places.values(), stage], margin=16),
        gettext("The venue: each section coloured by the share of its places sold or held"),
        _n(stage.left),
        _n(stage.top),
        _n(stage.w),
        _n(stage.h),
        _n(stage.x),
        _n(stage.top),
        gettext("Stage"),
        mark_safe("".join(boxes)),  # noqa: S308 - each made by format_html
        legend,
        gettext("sold or held"),
    )


# --- the charts of the last hour ---------------------------------------------------

# Drawn about 310 px wide on a 1366 px laptop: 12-unit axis text reads at ~10 px.
WIDTH, HEIGHT = 360.0, 150.0
LEFT, RIGHT, TOP, BOTTOM = 46.0, 10.0, 8.0, 22.0


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10**exponent
        if top >= value:
            return float(top)
    return float(10 ** (exponent + 1))


def chart_points(chart: dashboard.Chart, samples: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """(t, value) per line; a per-minute line is the change between samples."""
    out: dict[str, list[tuple[float, float]]] = {}
    for line in chart.lines:
        points: list[tuple[float, float]] = []
        previous: tuple[float, float] | None = None
        for sample in samples:
            value = sample.get("v", {}).get(line.series)
            if value is None:
                previous = None
                continue
            t = float(sample["t"])
            if line.per_minute:
                if previous is not None and t > previous[0]:
                    points.append((t, max(0.0, (float(value) - previous[1]) * 60 / (t - previous[0]))))
                previous = (t, float(value))
            else:
                points.append((t, float(value)))
        out[line.series] = points
    return out


def chart_svg(chart: dashboard.Chart, samples: list[dict[str, Any]], *, now: float) -> SafeString:
    """One chart of the last hour: x from now-60 min to now, y from 0 to a
    round maximum, one polyline per line, the legend under it."""
    points = chart_points(chart, samples)
    values = [v for line in points.values() for _t, v in line]
    top = _nice_max(max(values, default=0.0))
    start = now - dashboard.HISTORY_SECONDS
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - start) / dashboard.HISTORY_SECONDS * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    grid = []
    for i in range(5):
        value = top * i / 4
        grid.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
                '<text class="axis" x="{}" y="{}" text-anchor="end" dominant-baseline="central">{}</text>',
                _n(LEFT),
                _n(WIDTH - RIGHT),
                _n(y(value)),
                _n(y(value)),
                _n(LEFT - 4),
                _n(y(value)),
                human(value, 0 if top >= 4 else 1) + chart.unit,
            )
        )
    for minutes in (60, 30, 0):
        label = gettext("now") if minutes == 0 else f"−{minutes} min"
        grid.append(
            format_html(
                '<text class="axis" x="{}" y="{}" text-anchor="{}">{}</text>',
                _n(x(now - minutes * 60)),
                _n(HEIGHT - 4),
                "end" if minutes == 0 else ("start" if minutes == 60 else "middle"),
                label,
            )
        )
    lines = []
    for line in chart.lines:
        pts = [(t, v) for t, v in points[line.series] if t >= start]
        if not pts:
            continue
        coords = " ".join(f"{_n(x(t))},{_n(y(v))}" for t, v in pts)
        lines.append(
            format_html(
                '<polyline class="series" data-series="{}" data-points="{}" points="{}" stroke="{}"></polyline>',
                line.series,
                len(pts),
                coords,
                line.colour,
            )
        )
    legend = format_html_join(
        "",
        '<li><span class="swatch" style="background: {}"></span>{} <strong>{}</strong></li>',
        (
            (
                line.colour,
                line.label,
                _last(points[line.series]),
            )
            for line in chart.lines
        ),
    )
    empty = (
        format_html(
            '<text class="empty" x="{}" y="{}" text-anchor="middle">{}</text>',
            _n(LEFT + plot_w / 2),
            _n(TOP + plot_h / 2),
            gettext("No history yet: a sample is kept every %(seconds)s s") % {"seconds": _sample_seconds()},
        )
        if not lines
        else ""
    )
    return format_html(
        '<figure class="dash-chart" data-chart="{}"><figcaption>{}</figcaption>'
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}">{}{}{}</svg><ul class="dash-legend">{}</ul></figure>',
        chart.key,
        chart.title,
        _n(WIDTH),
        _n(HEIGHT),
        chart.title,
        mark_safe("".join(grid)),  # noqa: S308 - each made by format_html
        mark_safe("".join(lines)),  # noqa: S308
        empty,
        legend,
    )


def _last(points: list[tuple[float, float]]) -> str:
    if not points:
        return "—"
    value = points[-1][1]
    return human(value, 0 if value >= 10 or value == int(value) else 1)


def _sample_seconds() -> str:
    from django.conf import settings

    return str(settings.DASHBOARD_SAMPLE_SECONDS)


# --- the controls' forms ------------------------------------------------------------


def control_form(
    request: Any,
    event: Event,
    *,
    action: str,
    label: str,
    confirm: str,
    inputs: SafeString | str = "",
    danger: bool = False,
) -> SafeString:
    """One control's form: posts ``action`` to the page's control URL; the
    page's script asks ``confirm`` first (the server asks when it did not)."""
    from django.middleware.csrf import get_token
    from django.urls import reverse

    return format_html(
        '<form method="post" action="{}" class="dash-control" data-confirm="{}">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="action" value="{}"><input type="hidden" name="confirmed" value="">'
        '{}<button type="submit" class="button{}">{}</button></form>',
        reverse("admin:inventory_event_dashboard_control", args=[event.pk]),
        confirm,
        get_token(request),
        action,
        inputs,
        " danger" if danger else "",
        label,
    )


# --- the page's body (what the poll swaps in) -----------------------------------------


def body_html(event: Event, shot: dashboard.Snapshot, *, now: float | None = None) -> SafeString:
    now = time.time() if now is None else now
    samples = dashboard.history(event.pk, now=now)
    inventory_data = shot.figures.get("inventory")
    sections = inventory_data.data.get("sections", []) if inventory_data else []
    context = {
        "tiles": [tile for figures in shot.figures.values() for tile in figures.tiles],
        "rows": [row for figures in shot.figures.values() for row in figures.rows],
        "notes": [figures.note for figures in shot.figures.values() if figures.note],
        "venue": venue_picture(event, sections),
        "charts": [chart_svg(chart, samples, now=now) for chart in dashboard.charts()],
        "updated": formats.time_format(timezone.localtime(), "H:i:s"),
    }
    return SafeString(render_to_string("admin/inventory/event/_dashboard_body.html", context))


def inventory_figures(event: Event) -> dashboard.Figures:
    return inventory_view(event, *dashboard.inventory_data(event))


def register_builtin() -> None:
    """The inventory's own figures (places, holds, revenue) and charts."""
    dashboard.register_figures("inventory", inventory_figures, order=20)
    register_inventory_charts()
