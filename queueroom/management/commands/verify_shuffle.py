"""Verify a lane's pre-queue shuffle: the key matches the commitment
published before opening, and the order is the keyed permutation.

Offline (anyone, with the published numbers):
    python manage.py verify_shuffle --key HEX --commitment HEX --count M [--ticket N]
From this deployment's records:
    python manage.py verify_shuffle --event SLUG [--lane ID] [--ticket N]
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from queueroom.shuffle import Permutation, commitment


class Command(BaseCommand):
    help = "Check a pre-queue shuffle against its published commitment and print the order."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--key")
        parser.add_argument("--commitment")
        parser.add_argument("--count", type=int, help="Pre-queue size at opening (m).")
        parser.add_argument("--event", help="Read key, commitment and m from this deployment.")
        parser.add_argument("--lane", type=int)
        parser.add_argument("--ticket", type=int, help="Print this ticket's place.")
        parser.add_argument("--show", type=int, default=20, help="Print the first N places.")

    def handle(self, *args: Any, **o: Any) -> None:
        key, committed, m = o["key"], o["commitment"], o["count"]
        if o["event"]:
            key, committed, m = self._from_deployment(o["event"], o["lane"])
        if not (key and committed and m is not None):
            raise CommandError("Give --key, --commitment and --count, or --event.")
        if commitment(key) != committed.lower():
            raise CommandError(f"MISMATCH: sha256(key) = {commitment(key)} but the commitment was {committed}")
        perm = Permutation(key, m)
        order = perm.order()
        if sorted(order) != list(range(1, m + 1)):
            raise CommandError("The order is not a permutation of 1..m")
        digest = hashlib.sha256(",".join(map(str, order)).encode()).hexdigest()
        self.stdout.write(f"OK: the key matches the commitment; {m} pre-queue tickets, order digest {digest}")
        for place, ticket in enumerate(order[: o["show"]], start=1):
            self.stdout.write(f"place {place}: ticket {ticket}")
        if o["ticket"]:
            self.stdout.write(f"ticket {o['ticket']} has place {perm.place(o['ticket'])}")

    def _from_deployment(self, slug: str, lane_id: int | None) -> tuple[str, str, int]:
        from queueroom.models import Lane
        from queueroom.services import state_document

        lanes = Lane.objects.filter(event__slug=slug)
        lane = lanes.filter(pk=lane_id).first() if lane_id else lanes.filter(kind=Lane.Kind.GENERAL).first()
        if lane is None:
            raise CommandError("No such lane.")
        doc = (state_document(lane.event_id) or {}).get("lanes", {}).get(str(lane.pk))
        if not doc or not doc.get("key"):
            raise CommandError("This lane has not opened yet: its key is still secret.")
        return doc["key"], lane.commitment, int(doc["m"])
