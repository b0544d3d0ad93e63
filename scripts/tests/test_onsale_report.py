"""The report of `make simulate-onsale`, from a small made-up run: sell-out
times, tickets per second, the limiting process, per-endpoint percentiles,
the journey distributions, and a page with its charts inline."""

from scripts import onsale_report

T0 = 1_000_000.0
CAPACITY = {"madrid-1": 10, "barcelona-1": 6}


def samples():
    # Madrid sells 2 a sample (every 10 s) and is out at +50 s; Barcelona 1 a sample, 6 of 6 at +60 s.
    out = []
    for i in range(1, 8):
        out.append(
            {
                "t": T0 + 10 * i,
                "sold": {"madrid-1": min(10, 2 * i), "barcelona-1": min(6, i)},
                "waiting": {"madrid-1": 100 - 10 * i, "barcelona-1": 50},
                "in_store": {"madrid-1": 5, "barcelona-1": 5},
                "rate": {"madrid-1": 60, "barcelona-1": 60},
                "cpu": {"daphne": 90.0, "postgresql": 30.0},
            }
        )
    return out


STATS = [
    {
        "Type": "POST",
        "Name": "/holds/",
        "Request Count": "40",
        "Failure Count": "1",
        "50%": "20",
        "95%": "80",
        "99%": "95",
    },
    {
        "Type": "JOURNEY",
        "Name": "time in queue",
        "Request Count": "3",
        "Failure Count": "0",
        "50%": "1",
        "95%": "2",
        "99%": "3",
    },
    {"Type": "", "Name": "Aggregated", "Request Count": "43", "Failure Count": "1", "50%": "N/A", "95%": "", "99%": ""},
]
TIMELINE = {
    "bucket_seconds": 5,
    "buckets": [{"t": T0 + 5, "requests": 40, "failures": 1, "status": {"201": 39, "500": 1}, "p95_ms": 80.0}],
    "status": {"201": 39, "500": 1},
    "journeys": {"time in queue": [1.0, 2.0, 3.0, 4.0], "time to ticket": [10.0]},
}


def summary():
    return onsale_report.build_summary(
        started=T0 - 5,
        opened=T0,
        ended=T0 + 70,
        capacity=CAPACITY,
        samples=samples(),
        locust_stats=STATS,
        timeline=TIMELINE,
        checks={"check_inventory": {"ok": True}, "check_payments": {"ok": True}},
        settings={"scale": 0.01},
    )


def test_sell_out_times_and_ticket_rates() -> None:
    s = summary()
    assert s["sold_out_seconds"]["per_show"] == {"madrid-1": 50.0, "barcelona-1": 60.0}
    assert s["sold_out_seconds"]["all"] == 60.0
    assert s["all_sold_out"] is True
    assert s["tickets_per_second"]["overall"] == round(16 / 70, 2)
    assert s["tickets_per_second"]["peak_30s"] == 0.3  # 2 + 1 tickets per 10 s at the start


def test_an_unsold_show_is_not_sold_out() -> None:
    rows = samples()[:3]
    s = onsale_report.build_summary(
        started=T0, opened=T0, ended=T0 + 30, capacity=CAPACITY, samples=rows, locust_stats=[], timeline={},
        checks={}, settings={},
    )  # fmt: skip
    assert s["sold_out_seconds"] == {"per_show": {"madrid-1": None, "barcelona-1": None}, "all": None}
    assert s["all_sold_out"] is False


def test_http_figures_leave_journeys_and_the_aggregate_out() -> None:
    http = summary()["http"]
    assert list(http["endpoints"]) == ["POST /holds/"]
    assert http["endpoints"]["POST /holds/"] == {
        "requests": 40, "failures": 1, "p50_ms": 20.0, "p95_ms": 80.0, "p99_ms": 95.0,
    }  # fmt: skip
    assert http["by_status"] == {"201": 39, "500": 1}


def test_journeys_and_the_limiting_process() -> None:
    s = summary()
    assert s["time_in_queue_seconds"]["p50"] == 2.0
    assert s["time_in_queue_seconds"]["count"] == 4
    assert s["time_to_ticket_seconds"]["p95"] == 10.0
    assert s["limiting_resource"] == "daphne"
    assert s["cpu_percent_mean"] == {"daphne": 90.0, "postgresql": 30.0}


def test_sold_per_minute_counts_each_sale_once() -> None:
    per_minute = onsale_report.sold_per_minute(samples(), T0)
    assert sum(n for _, n in per_minute["madrid-1"]) == 10
    assert sum(n for _, n in per_minute["barcelona-1"]) == 6


def test_the_page_has_its_charts_inline_and_no_scripts() -> None:
    page = onsale_report.build_html(summary(), samples(), TIMELINE)
    assert page.count("<svg") == 6
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "madrid-1" in page and "check_payments" in page


def test_cpu_per_ticket_and_the_ceiling_it_gives() -> None:
    # 6 intervals of 10 s after the first sample; 16 tickets sold in all.
    # daphne at 90 % → 54 CPU-s, postgresql at 30 % → 18 CPU-s.
    s = summary()
    cost = s["cpu_ms_per_ticket"]
    assert cost["per_process"] == {"daphne": round(54_000 / 16, 1), "postgresql": round(18_000 / 16, 1)}
    assert cost["sale"] == round(54_000 / 16, 1) + round(18_000 / 16, 1)
    # Settings say nothing of cores: one core's worth.
    assert cost["ceiling_tickets_per_second"] == round(1000 / cost["sale"], 1)


def test_the_load_generator_is_not_the_sales_cost_and_a_busy_machine_is_the_limit() -> None:
    rows = samples()
    for row in rows:
        row["cpu"] = {"web1": 70.0, "locust": 50.0, onsale_report.MACHINE: 195.0}
    s = onsale_report.build_summary(
        started=T0, opened=T0, ended=T0 + 70, capacity=CAPACITY, samples=rows, locust_stats=[], timeline={},
        checks={}, settings={"cpus": 2},
    )  # fmt: skip
    assert s["limiting_resource"] == onsale_report.MACHINE
    assert s["limiting_resource_saturated"] is True
    cost = s["cpu_ms_per_ticket"]
    assert cost["sale"] == cost["per_process"]["web1"]  # locust and the machine total left out
    assert cost["ceiling_tickets_per_second"] == round(2 * 1000 / cost["sale"], 1)


def test_eta_error_is_waited_minus_shown_apart_for_fans_who_came_early() -> None:
    eta = onsale_report.eta_error([[10, 15, False], [20, 10, False], [30, 30, False], [60, 200, True]])
    assert eta["after_opening"]["signed"]["count"] == 3
    assert eta["after_opening"]["signed"]["min"] == -10.0
    assert eta["after_opening"]["signed"]["max"] == 5.0
    assert eta["after_opening"]["absolute"]["p50"] == 5.0
    assert eta["before_opening"]["signed"] == {
        "count": 1, "min": 140.0, "max": 140.0, "mean": 140.0, "p50": 140.0, "p90": 140.0, "p95": 140.0, "p99": 140.0,
    }  # fmt: skip
