"""Check that payments, orders, tickets and the PSP agree; exit 1 on a mismatch."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.checks import PSP_CHECKS, SQL_CHECKS, explanation, find_mismatches
from payments.providers import ProviderError


class Command(BaseCommand):
    help = (
        "Check that every PAID order has one succeeded, unrefunded payment and its tickets, every refund is "
        "made at the PSP, and every intent that succeeded at the PSP is a PAID or REFUNDED payment of ours. "
        "Exit 1 on a mismatch, 2 when the PSP cannot be read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--skip-psp", action="store_true", help="Only our own records; do not ask the PSP.")
        parser.add_argument(
            "--grace",
            type=int,
            default=None,
            metavar="SECONDS",
            help="Report states that are normal for a moment (a webhook on its way, a refund being made) only "
            "when older than this (default: PAYMENTS_RECONCILE_AFTER_SECONDS).",
        )

    def handle(self, *args: Any, skip_psp: bool = False, grace: int | None = None, **options: Any) -> None:
        seconds = settings.PAYMENTS_RECONCILE_AFTER_SECONDS if grace is None else grace
        try:
            findings = find_mismatches(psp=not skip_psp, grace=dt.timedelta(seconds=seconds))
        except ProviderError as exc:
            raise CommandError(f"Could not read the payments at the PSP: {exc.detail}", returncode=2) from exc
        for name, rows in findings.found.items():
            self.stderr.write(f"MISMATCH {name}: {explanation(name)}")
            for row in rows:
                self.stderr.write(f"  {row}")
        if findings.found:
            sys.exit(1)
        checks = len(SQL_CHECKS) + (0 if skip_psp else len(PSP_CHECKS))
        psp = "the PSP not asked" if skip_psp else f"{findings.intents_seen} intents at the PSP"
        self.stdout.write(f"OK: {checks} payment checks hold ({psp})")
