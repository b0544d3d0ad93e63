"""The promoter of the load scenarios (locustfiles/promoter.py) against a real
Daphne: logs in to the admin as a member of the promoter group and polls
every event's live dashboard; every poll answers its figures."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User

from inventory.services import demo
from inventory.tests.helpers import ensure_dashboard_groups
from ticketing.tests.live import daphne, process_env

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_promoter_watches_the_dashboards(tmp_path: Path, settings) -> None:
    demo.seed_small()
    ensure_dashboard_groups()  # a transactional test before may have emptied the tables
    user = User.objects.create_user("load-promoter", password="a-long-test-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name="promoter"))
    with daphne() as base:
        run = subprocess.run(
            [sys.executable, "-m", "locust", "-f", "locustfiles/promoter.py", "--headless", "--only-summary"]
            + ["-u", "1", "-r", "1", "-t", "6s", "--host", base, "--csv", str(tmp_path / "p")],
            cwd=settings.BASE_DIR,
            env={
                **process_env(),
                "LOCUST_PROMOTER_USER": "load-promoter",
                "LOCUST_PROMOTER_PASSWORD": "a-long-test-password-1",
                "LOCUST_PROMOTER_POLL": "0.5",
            },
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    with (tmp_path / "p_stats.csv").open(newline="") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    polls = rows["/admin/[event]/dashboard/figures/"]
    assert int(polls["Request Count"]) >= 3
    assert int(polls["Failure Count"]) == 0
