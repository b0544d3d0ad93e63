"""Settle PENDING payments from the PSP's own state (missed webhooks), now."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from payments.reconcile import Action, reconcile


class Command(BaseCommand):
    help = (
        "What the reconciliation beat task does, on demand: read back from the PSP every PENDING payment "
        "older than --older-than, settle the succeeded ones (PAID, or refunded when the seats are gone) and "
        "release the unpaid ones whose checkout ended. Prints one line per order it changed, then a summary; "
        "exits 1 when a payment could not be reconciled or the PSP is unavailable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="SECONDS",
            help="Only payments whose checkout began this long ago (default: PAYMENTS_RECONCILE_AFTER_SECONDS).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            metavar="N",
            help="At most N payments, the longest unchecked first (default: PAYMENTS_RECONCILE_BATCH).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Read the PSP and say what would change; change nothing."
        )
        parser.add_argument(
            "--verbose-unchanged", action="store_true", help="Also print the payments left as they are."
        )

    def handle(
        self,
        *args: Any,
        older_than: int | None = None,
        limit: int | None = None,
        dry_run: bool = False,
        verbose_unchanged: bool = False,
        **options: Any,
    ) -> None:
        age = None if older_than is None else dt.timedelta(seconds=older_than)
        report = reconcile(older_than=age, dry_run=dry_run, limit=limit)
        for change in report.changes:
            if change.action == Action.UNCHANGED and not verbose_unchanged:
                continue
            out = self.stderr if change.action == Action.ERROR else self.stdout
            out.write(("would: " if dry_run else "") + change.line())
        self.stdout.write(report.summary(dry_run=dry_run))
        if report.stopped:
            self.stderr.write(f"Stopped early, the PSP is unavailable: {report.stopped}")
        if report.stopped or report.counts[Action.ERROR]:
            sys.exit(1)
