"""Verify the inventory invariants; exit 1 on any violation."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.invariants import CHECKS, find_violations
from inventory.models import Event


class Command(BaseCommand):
    help = "Check that no seat is in two live orders, no section oversells, statuses agree with orders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", help="Only this event (default: all events).")

    def handle(self, *args: Any, slug: str | None = None, **options: Any) -> None:
        event_id = None
        if slug:
            event = Event.objects.filter(slug=slug).first()
            if event is None:
                raise CommandError(f"No event with slug {slug!r}.")
            event_id = event.pk
        found = find_violations(event_id=event_id)
        explanations = {c.name: c.explanation for c in CHECKS}
        for name, rows in found.items():
            self.stderr.write(f"VIOLATION {name}: {explanations[name]}")
            for row in rows:
                self.stderr.write(f"  {row}")
        if found:
            sys.exit(1)
        self.stdout.write(f"OK: {len(CHECKS)} invariants hold" + (f" for {slug}" if slug else ""))
