"""Pause, resume or re-rate an event's queue from a shell (the runbook's
commands, docs/operations.md): the same services as the admin's actions,
for operators at a terminal when the admin is not at hand."""

from __future__ import annotations

import getpass
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.models import Event
from queueroom import services
from queueroom.models import QueueConfig

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Show or change an event's waiting room: --pause / --resume admissions, --rate N per minute, "
        "--capacity N store sessions. Each change applies on the admitter's next tick (within a second). "
        "--all acts on every event whose sale has not ended."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", help="The event's slug.")
        parser.add_argument("--all", action="store_true", help="Every event whose sale has not ended.")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--pause", action="store_true", help="Stop admitting (fans keep their places).")
        state.add_argument("--resume", action="store_true", help="Admit again.")
        parser.add_argument("--rate", type=int, metavar="N", help="Admissions per minute (at least 1).")
        parser.add_argument("--capacity", type=int, metavar="N", help="Store sessions at once (at least 1).")

    def handle(self, *args: Any, **options: Any) -> None:
        events = self._events(options["slug"], options["all"])
        who = getpass.getuser()
        for event in events:
            if options["pause"] or options["resume"]:
                services.set_paused(event=event, paused=bool(options["pause"]))
                log.warning(
                    "queue %s %s by %s (manage.py queue_control)",
                    event.slug,
                    "paused" if options["pause"] else "resumed",
                    who,
                )
            if options["rate"] is not None or options["capacity"] is not None:
                services.set_admission(event=event, rate_per_minute=options["rate"], max_in_store=options["capacity"])
                log.warning(
                    "queue %s admission set to rate=%s capacity=%s by %s",
                    event.slug,
                    options["rate"],
                    options["capacity"],
                    who,
                )
            event.refresh_from_db()
            paused = QueueConfig.objects.filter(event=event, paused=True).exists()
            self.stdout.write(
                f"{event.slug}: {'PAUSED' if paused else 'admitting'}, rate {event.admission_rate_per_minute}/min, "
                f"capacity {event.max_in_store}, sale {event.sale_phase()}"
            )

    def _events(self, slug: str | None, every: bool) -> list[Event]:
        if every == bool(slug):
            raise CommandError("Name one event's slug, or --all.")
        if slug:
            event = Event.objects.filter(slug=slug).first()
            if event is None:
                raise CommandError(f"No event with slug {slug!r}.")
            return [event]
        return [event for event in Event.objects.order_by("starts_at") if event.sale_phase() != "ENDED"]
