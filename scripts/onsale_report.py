"""The report of `make simulate-onsale`: summary.json and report.html from
what the run gathered (samples every few seconds, Locust's stats, the
timeline the locustfile wrote). Pure functions of plain data, so the report
is tested without running a sale (scripts/tests/test_onsale_report.py).

The charts are SVG drawn here, inline in the page: no CDN, no JavaScript, a
file that opens anywhere, years later."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]


# The whole machine's CPU in the samples (% of one core: 200 on 2 cores).
MACHINE = "machine (all cores)"


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 90, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles (plus count, min, max, mean) of ``values``."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    out: dict[str, float] = {"count": len(ordered), "min": ordered[0], "max": ordered[-1]}
    out["mean"] = round(sum(ordered) / len(ordered), 3)
    for p in points:
        out[f"p{p}"] = ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p / 100) - 1))]
    return out


def eta_error(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """How far the ETA a fan was shown at the join was from the wait it got
    (``rows``: [shown s, actual s, joined before the opening]). Signed error
    = actual - shown (positive: waited longer than told). Fans who joined
    before the opening were shown the time to the opening, then drawn a place
    at random: their error is counted apart."""
    out: dict[str, Any] = {}
    for label, early in (("after_opening", False), ("before_opening", True)):
        errors = [float(actual) - float(shown) for shown, actual, flag in rows if bool(flag) is early]
        out[label] = {
            "signed": percentiles(errors),
            "absolute": percentiles([abs(e) for e in errors]),
        }
    return out


# Not the sale's own cost: the load generator, and the machine as a whole.
NOT_THE_SALE = ("locust", MACHINE)


def cpu_cost_per_ticket(samples: list[dict[str, Any]], sold: int, cores: int) -> dict[str, Any]:
    """CPU time per ticket sold, per process (ms): each sample's CPU share
    times the time since the previous one, summed, over the tickets sold.
    ``sale`` adds up the servers (web, workers, admitter, PSP emulator,
    PostgreSQL, Redis: everything but Locust), and ``ceiling_tickets_per_second``
    is what this machine's cores would sell if the sale had all of them at
    that cost: the throughput the CPU allows, whatever limited this run."""
    seconds: dict[str, float] = {}
    for prev, cur in zip(samples, samples[1:], strict=False):
        span = cur["t"] - prev["t"]
        for name, pct in cur.get("cpu", {}).items():
            seconds[name] = seconds.get(name, 0.0) + float(pct) / 100 * span
    if not sold or not seconds:
        return {}
    per = {name: round(1000 * sec / sold, 1) for name, sec in sorted(seconds.items(), key=lambda kv: -kv[1])}
    sale = round(sum(v for k, v in per.items() if k not in NOT_THE_SALE), 1)
    return {
        "per_process": per,
        "sale": sale,
        "ceiling_tickets_per_second": round(cores * 1000 / sale, 1) if sale else None,
    }


def sold_per_minute(samples: list[dict[str, Any]], start: float) -> dict[str, list[tuple[float, float]]]:
    """{show: [(minute, tickets sold in that minute)]} from the cumulative counts sampled."""
    shows = list(samples[0]["sold"]) if samples else []
    out: dict[str, list[tuple[float, float]]] = {}
    for show in shows:
        per_minute: dict[int, int] = {}
        previous = 0
        for s in samples:
            minute = int((s["t"] - start) // 60)
            per_minute[minute] = per_minute.get(minute, 0) + s["sold"][show] - previous
            previous = s["sold"][show]
        out[show] = [(float(m), float(n)) for m, n in sorted(per_minute.items())]
    return out


def build_summary(
    *,
    started: float,
    opened: float,
    ended: float,
    capacity: dict[str, int],
    samples: list[dict[str, Any]],
    locust_stats: list[dict[str, str]],
    timeline: dict[str, Any],
    checks: dict[str, Any],
    settings: dict[str, Any],
) -> dict[str, Any]:
    """The figures of a run. ``samples``: [{"t", "sold": {show: n},
    "waiting": {show: n}, "rate": {show: per minute}, "cpu": {process: %}}]
    in time order; ``locust_stats``: rows of Locust's *_stats.csv;
    ``timeline``: the locustfile's SIM_TIMELINE document."""
    shows = list(capacity)
    sold_final = samples[-1]["sold"] if samples else dict.fromkeys(shows, 0)
    sold_out_at: dict[str, float | None] = {}
    for show in shows:
        when = next((s["t"] for s in samples if capacity[show] and s["sold"][show] >= capacity[show]), None)
        sold_out_at[show] = round(when - opened, 1) if when is not None else None
    every = [v for v in sold_out_at.values()]
    total_sold = sum(sold_final.values())
    selling = max(1e-9, ended - opened)
    # The peak: the best 30-s window of the sampled total.
    peak = 0.0
    for i, s in enumerate(samples):
        j = next((k for k in range(i, len(samples)) if samples[k]["t"] - s["t"] >= 30), None)
        if j is not None:
            window = samples[j]["t"] - s["t"]
            peak = max(peak, (sum(samples[j]["sold"].values()) - sum(s["sold"].values())) / window)
    cpu_mean: dict[str, float] = {}
    for s in samples:
        for name, value in s.get("cpu", {}).items():
            cpu_mean[name] = cpu_mean.get(name, 0.0) + value / len(samples)
    cpu_mean = {k: round(v, 1) for k, v in sorted(cpu_mean.items(), key=lambda kv: -kv[1])}
    machine = cpu_mean.pop(MACHINE, None)
    cores = int(settings.get("cpus") or 1)
    if machine is not None and machine >= 90 * cores:
        # Every core busy: no single process is the limit, the machine is.
        limiting: str | None = MACHINE
        saturated = True
    else:
        limiting = next(iter(cpu_mean), None)
        # One core is all a single-threaded process (Daphne, the admitter) can use.
        saturated = limiting is not None and cpu_mean[limiting] >= 80
    if machine is not None:
        cpu_mean[MACHINE] = machine
    cost = cpu_cost_per_ticket(samples, total_sold, cores)
    endpoints = {}
    for row in locust_stats:
        if row.get("Type") == "JOURNEY" or row.get("Name") == "Aggregated":
            continue
        endpoints[f"{row['Type']} {row['Name']}"] = {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "p50_ms": _num(row.get("50%")),
            "p95_ms": _num(row.get("95%")),
            "p99_ms": _num(row.get("99%")),
        }
    journeys = timeline.get("journeys", {})
    return {
        "settings": settings,
        "started_at": started,
        "sale_opened_at": opened,
        "ended_at": ended,
        "wall_seconds": round(ended - started, 1),
        "capacity": capacity,
        "sold": sold_final,
        "all_sold_out": all(v is not None for v in every),
        "sold_out_seconds": {"per_show": sold_out_at, "all": max(every) if every and None not in every else None},  # type: ignore[type-var]
        "tickets_per_second": {"overall": round(total_sold / selling, 2), "peak_30s": round(peak, 2)},
        "http": {
            "by_status": timeline.get("status", {}),
            "requests": sum(e["requests"] for e in endpoints.values()),
            "failures": sum(e["failures"] for e in endpoints.values()),
            "endpoints": endpoints,
        },
        "time_in_queue_seconds": percentiles(journeys.get("time in queue", [])),
        "time_to_ticket_seconds": percentiles(journeys.get("time to ticket", [])),
        "eta_error_seconds": eta_error(timeline.get("eta", [])),
        "cpu_percent_mean": cpu_mean,
        "cpu_ms_per_ticket": cost,
        "limiting_resource": limiting,
        "limiting_resource_saturated": saturated,
        "checks": checks,
    }


def _num(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "", "N/A") else None
    except ValueError:
        return None


# --- SVG -------------------------------------------------------------------------


def svg_chart(
    title: str, series: dict[str, list[tuple[float, float]]], *, x_label: str, y_label: str, bars: bool = False
) -> str:
    """A line chart (or grouped bars) of ``series`` {name: [(x, y)]}, as inline SVG."""
    width, height, left, right, top, bottom = 760, 300, 60, 170, 30, 40
    points = [p for values in series.values() for p in values]
    esc = html.escape
    if not points:
        return f'<svg width="{width}" height="60"><text x="10" y="30">{esc(title)}: no data</text></svg>'
    x_max = max(p[0] for p in points) or 1.0
    x_min = min(p[0] for p in points)
    y_max = max(p[1] for p in points) or 1.0
    span = (x_max - x_min) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x_min) / span * plot_w

    def sy(y: float) -> float:
        return top + plot_h - y / y_max * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{esc(title)}">',
        f'<text x="{left}" y="18" font-weight="bold">{esc(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = sy(value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        shown = f"{value:,.0f}" if y_max >= 10 else f"{value:.2g}"
        parts.append(f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{shown}</text>')
    for i in range(5):
        value = x_min + span * i / 4
        parts.append(
            f'<text x="{sx(value):.1f}" y="{top + plot_h + 15}" text-anchor="middle" font-size="11">{value:,.1f}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 5}" text-anchor="middle" font-size="12">{esc(x_label)}</text>'
    )
    parts.append(
        f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" text-anchor="middle" '
        f'font-size="12">{esc(y_label)}</text>'
    )
    names = list(series)
    bar_w = max(1.0, plot_w / (len({p[0] for p in points}) + 1) / max(1, len(names)))
    for n, name in enumerate(names):
        colour = PALETTE[n % len(PALETTE)]
        values = series[name]
        if bars:
            for x, y in values:
                bx = sx(x) + n * bar_w - len(names) * bar_w / 2
                parts.append(
                    f'<rect x="{bx:.1f}" y="{sy(y):.1f}" width="{bar_w:.1f}" height="{top + plot_h - sy(y):.1f}" '
                    f'fill="{colour}"/>'
                )
        elif values:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        ly = top + 14 * n + 5
        parts.append(f'<rect x="{width - right + 10}" y="{ly}" width="10" height="10" fill="{colour}"/>')
        parts.append(
            f'<text x="{width - right + 24}" y="{ly + 9}" font-size="11">{esc(name.removeprefix("rosalia-lux-")[:28])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def build_html(summary: dict[str, Any], samples: list[dict[str, Any]], timeline: dict[str, Any]) -> str:
    """The page: the headline figures, the charts over time, the tables."""
    esc = html.escape
    opened = summary["sale_opened_at"]
    per_minute = sold_per_minute(samples, opened)
    waiting = {
        show: [((s["t"] - opened) / 60, float(s["waiting"].get(show, 0))) for s in samples]
        for show in summary["capacity"]
    }
    rate = {
        "admitted (fans/min)": [((s["t"] - opened) / 60, float(sum(s.get("admitting", {}).values()))) for s in samples],
        "set by the promoter, all shows": [((s["t"] - opened) / 60, float(sum(s["rate"].values()))) for s in samples],
    }
    buckets = timeline.get("buckets", [])
    p95 = {"p95 of every request (ms)": [((b["t"] - opened) / 60, float(b["p95_ms"])) for b in buckets]}
    errors = {
        "failures": [((b["t"] - opened) / 60, float(b["failures"])) for b in buckets],
        "HTTP 5xx": [
            ((b["t"] - opened) / 60, float(sum(n for code, n in b["status"].items() if code.startswith("5"))))
            for b in buckets
        ],
    }
    cpu_names = list(summary["cpu_percent_mean"])
    cpu = {name: [((s["t"] - opened) / 60, float(s["cpu"].get(name, 0))) for s in samples] for name in cpu_names}
    charts = [
        svg_chart(
            "Tickets sold per minute, per show", per_minute, x_label="minute of the sale", y_label="tickets", bars=True
        ),
        svg_chart("Fans waiting", waiting, x_label="minutes since the sale opened", y_label="fans"),
        svg_chart("Admission rate", rate, x_label="minutes since the sale opened", y_label="fans per minute"),
        svg_chart("p95 latency (5-s buckets)", p95, x_label="minutes since the sale opened", y_label="ms"),
        svg_chart("Errors (per 5 s)", errors, x_label="minutes since the sale opened", y_label="requests"),
        svg_chart("CPU per process", cpu, x_label="minutes since the sale opened", y_label="% of one core"),
    ]
    tps = summary["tickets_per_second"]
    head = [
        ("Tickets sold", f"{sum(summary['sold'].values()):,} of {sum(summary['capacity'].values()):,}"),
        ("All sold out after", _secs(summary["sold_out_seconds"]["all"])),
        ("Tickets/s overall / peak (30 s)", f"{tps['overall']} / {tps['peak_30s']}"),
        ("HTTP requests / failures", f"{summary['http']['requests']:,} / {summary['http']['failures']:,}"),
        ("HTTP by status", ", ".join(f"{k}: {v:,}" for k, v in sorted(summary["http"]["by_status"].items()))),
        ("Time in queue p50 / p95", _pair(summary["time_in_queue_seconds"])),
        ("Time to ticket p50 / p95", _pair(summary["time_to_ticket_seconds"])),
        (
            "ETA error (waited minus shown, joined after opening) p50 / p95",
            _pair(summary.get("eta_error_seconds", {}).get("after_opening", {}).get("signed", {})),
        ),
        (
            "Limiting resource (highest mean CPU)",
            f"{summary['limiting_resource']} ({summary['cpu_percent_mean'].get(summary['limiting_resource'], 0)}% of a core"
            + ("" if summary.get("limiting_resource_saturated") else "; not saturated: the fans or the rate limited")
            + ")",
        ),
        ("check_inventory", "OK" if summary["checks"].get("check_inventory", {}).get("ok") else "FAILED"),
        ("check_payments", "OK" if summary["checks"].get("check_payments", {}).get("ok") else "FAILED"),
    ]
    shows = "".join(
        f"<tr><td>{esc(show)}</td><td>{summary['capacity'][show]:,}</td><td>{summary['sold'][show]:,}</td>"
        f"<td>{_secs(summary['sold_out_seconds']['per_show'][show])}</td></tr>"
        for show in summary["capacity"]
    )
    endpoints = "".join(
        f"<tr><td>{esc(name)}</td><td>{e['requests']:,}</td><td>{e['failures']:,}</td>"
        f"<td>{e['p50_ms']}</td><td>{e['p95_ms']}</td><td>{e['p99_ms']}</td></tr>"
        for name, e in sorted(summary["http"]["endpoints"].items())
    )
    per_ticket = (summary.get("cpu_ms_per_ticket") or {}).get("per_process", {})
    cpu_rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{v}</td><td>{per_ticket.get(k, '')}</td></tr>"
        for k, v in summary["cpu_percent_mean"].items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>On-sale simulation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:980px}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}
svg{{display:block;margin:1.5em 0}}</style></head><body>
<h1>On-sale simulation</h1>
<p>Settings: {esc(", ".join(f"{k}={v}" for k, v in summary["settings"].items()))}</p>
<table>{"".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in head)}</table>
<h2>Shows</h2><table><tr><th>show</th><th>capacity</th><th>sold</th><th>sold out after</th></tr>{shows}</table>
<h2>Over time</h2>{"".join(charts)}
<h2>Endpoints</h2><table><tr><th>endpoint</th><th>requests</th><th>failures</th><th>p50 ms</th><th>p95 ms</th>
<th>p99 ms</th></tr>{endpoints}</table>
<h2>CPU per process</h2><table><tr><th>process</th><th>mean % of one core</th><th>ms of CPU per ticket sold</th></tr>{cpu_rows}</table>
</body></html>
"""


def _secs(value: float | None) -> str:
    return "not sold out" if value is None else f"{value / 60:.1f} min ({value:.0f} s)"


def _pair(dist: dict[str, float]) -> str:
    if not dist.get("count"):
        return "no data"
    return f"{dist['p50']:.1f} s / {dist['p95']:.1f} s (n={int(dist['count']):,})"


def print_summary(summary: dict[str, Any]) -> None:
    tps = summary["tickets_per_second"]
    print(f"sold {sum(summary['sold'].values()):,} of {sum(summary['capacity'].values()):,} tickets")
    for show, cap in summary["capacity"].items():
        print(
            f"  {show:45} {summary['sold'][show]:>7,} / {cap:<7,} {_secs(summary['sold_out_seconds']['per_show'][show])}"
        )
    print(f"all sold out after: {_secs(summary['sold_out_seconds']['all'])}")
    print(f"tickets/s overall {tps['overall']}, peak (30 s) {tps['peak_30s']}")
    print(
        f"HTTP: {summary['http']['requests']:,} requests, {summary['http']['failures']:,} failures; by status {summary['http']['by_status']}"
    )
    print(f"time in queue p50/p95: {_pair(summary['time_in_queue_seconds'])}")
    print(f"time to ticket p50/p95: {_pair(summary['time_to_ticket_seconds'])}")
    eta = summary.get("eta_error_seconds", {})
    for label in ("after_opening", "before_opening"):
        part = eta.get(label, {})
        print(
            f"ETA error, joined {label.replace('_', ' ')} (waited - shown) p50/p95: {_pair(part.get('signed', {}))};"
            f" absolute p50/p95: {_pair(part.get('absolute', {}))}"
        )
    print(f"mean CPU % per process: {summary['cpu_percent_mean']}")
    cost = summary.get("cpu_ms_per_ticket") or {}
    if cost:
        print(
            f"CPU per ticket sold (ms): {cost['per_process']}; the sale's servers {cost['sale']} ms,"
            f" so {summary['settings'].get('cpus')} cores sell at most {cost['ceiling_tickets_per_second']} tickets/s"
        )
    note = "" if summary.get("limiting_resource_saturated") else " (not saturated: the fans or the rate limited)"
    print(f"limiting resource: {summary['limiting_resource']}{note}")
    for name, result in summary["checks"].items():
        print(f"{name}: {'OK' if result.get('ok') else 'FAILED'} {result.get('output', '').strip()[:300]}")
