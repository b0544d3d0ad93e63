"""The alert rules (ops/prometheus/alerts.yml) name only metrics that
/metrics exports, and every alert points at a section of the runbook."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from inventory.tests.helpers import seat_ids
from queueroom.management.commands import run_admitter
from ticketing import memo

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "alerts.yml"
RUNBOOK = ROOT / "docs" / "operations.md"
# Exported by Prometheus itself.
ELSEWHERE = {"up"}
TOKEN = "rules-test-token"


def rules() -> list[dict[str, object]]:
    data = yaml.safe_load(RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def anchors() -> set[str]:
    """GitHub's anchors of the runbook's headings."""
    found = set()
    for line in RUNBOOK.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return found


def test_every_alert_has_a_severity_and_a_runbook_section() -> None:
    known = anchors()
    for rule in rules():
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]  # type: ignore[index]
        link = rule["annotations"]["runbook"]  # type: ignore[index]
        assert link.startswith("docs/operations.md#") and link.split("#", 1)[1] in known, (rule["alert"], link)


@pytest.mark.django_db
def test_every_metric_the_rules_name_is_exported(settings, monkeypatch, small_event) -> None:  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_DB_CACHE_SECONDS = 0  # figures read fresh; the sharing has its own test
    settings.STORE_ACCESS_CHECK = ""
    memo.clear_all()
    monkeypatch.setattr(run_admitter, "close_old_connections", lambda: None)
    # Some of everything: a queue, a tick, a hold, a refused hold.
    assert Client().post(f"/api/v1/events/{small_event.slug}/queue/", content_type="application/json").status_code in (
        200,
        201,
    )
    run_admitter._cycle("rules-test", float(int(time.time())))
    body = json.dumps({"seat_ids": seat_ids(small_event, count=1)})
    url = f"/api/v1/events/{small_event.slug}/holds/"
    assert Client().post(url, body, content_type="application/json").status_code == 201
    assert Client().post(url, body, content_type="application/json").status_code == 409
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    families = list(text_string_to_metric_families(response.content.decode()))
    # Sample names (ticketing_holds_total, ..._bucket), and families with no sample yet (no payment made).
    exported = {sample.name for family in families for sample in family.samples} | {f.name for f in families}
    named = {
        name
        for rule in rules()
        for name in re.findall(r"\b((?:ticketing|django|psp)_[a-z0-9_]+|up)\b", str(rule["expr"]))
    }
    assert named - ELSEWHERE, "the rules name no metric"
    assert named - ELSEWHERE <= exported, sorted(named - ELSEWHERE - exported)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian: prometheus) is not installed")
def test_the_rules_fire_as_their_unit_tests_say() -> None:
    """ops/prometheus/alerts_test.yml: a stalled admitter, a queue that does
    not admit (and a paused one that is left alone), holds mostly refused, a
    source down, payments not settling."""
    done = subprocess.run(
        ["promtool", "test", "rules", "alerts_test.yml"], cwd=RULES.parent, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
