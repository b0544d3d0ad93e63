"""Seat maps and event inventory: row and seat specs ("A-Z", "30" or
"10,12,14"), generated rows of seats ranked front-centre first, and the
event's inventory rows made in two INSERT ... SELECT statements."""

from __future__ import annotations

import string
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext

from inventory.models import Event, Seat, Section
from ticketing.errors import DomainError

SEAT_SPACING = 10.0


class CatalogError(DomainError, ValueError):
    """Bad promoter input; the message is shown to the promoter as is, in
    the language of the request (the admin's): these never reach the JSON API.
    (Also a ValueError: the admin's forms and the import view catch those.)"""

    code = "invalid_catalog"


def parse_row_labels(spec: str) -> list[str]:
    """'A-Z' → A..Z; 'AA-AD' → AA, AB, AC, AD; '1-12' → 1..12; 'A,B,C' → A, B, C."""
    spec = spec.strip()
    if not spec:
        raise CatalogError(gettext("Give at least one row, e.g. A-Z or 1-20."))
    labels: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if "-" not in part:
            labels.append(part)
            continue
        start, _, end = part.partition("-")
        start, end = start.strip(), end.strip()
        if start.isdigit() and end.isdigit():
            lo, hi = int(start), int(end)
            if lo > hi:
                raise CatalogError(gettext("Row range “%(range)s” runs backwards.") % {"range": part})
            labels.extend(str(n) for n in range(lo, hi + 1))
        elif start.isalpha() and end.isalpha() and len(start) == len(end):
            labels.extend(_alpha_range(start.upper(), end.upper(), part))
        else:
            raise CatalogError(gettext("Row range “%(range)s” is not like A-Z, AA-AZ or 1-20.") % {"range": part})
    if len(set(labels)) != len(labels):
        raise CatalogError(gettext("A row appears twice."))
    if any(len(label) > 8 for label in labels):
        raise CatalogError(gettext("Row labels are at most 8 characters."))
    return labels


def _alpha_range(start: str, end: str, part: str) -> list[str]:
    def to_int(label: str) -> int:
        value = 0
        for char in label:
            value = value * 26 + string.ascii_uppercase.index(char)
        return value

    def to_label(value: int, width: int) -> str:
        chars = []
        for _ in range(width):
            value, rem = divmod(value, 26)
            chars.append(string.ascii_uppercase[rem])
        return "".join(reversed(chars))

    lo, hi = to_int(start), to_int(end)
    if lo > hi:
        raise CatalogError(gettext("Row range “%(range)s” runs backwards.") % {"range": part})
    return [to_label(v, len(start)) for v in range(lo, hi + 1)]


def parse_seat_counts(spec: str, rows: int) -> list[int]:
    """'30' → 30 seats in every row; '20,22,24' → one count per row."""
    try:
        counts = [int(p) for p in spec.replace(" ", "").split(",") if p]
    except ValueError as exc:
        raise CatalogError(gettext("Seats per row must be a number or a comma-separated list of numbers.")) from exc
    if len(counts) == 1:
        counts = counts * rows
    if len(counts) != rows:
        raise CatalogError(
            gettext("Give one seat count, or one per row (%(rows)d rows, %(counts)d counts).")
            % {"rows": rows, "counts": len(counts)}
        )
    if any(c < 1 or c > 500 for c in counts):
        raise CatalogError(gettext("Each row has between 1 and 500 seats."))
    return counts


def seat_rank(row_index: int, number: int, seats_in_row: int) -> int:
    """Front rows first; in a row, the centre first."""
    centre = (seats_in_row + 1) / 2
    return row_index * 1000 + int(abs(number - centre) * 2)


@transaction.atomic
def generate_seats(
    *, section: Section, rows: Sequence[str], seats_per_row: Sequence[int], replace: bool = False
) -> int:
    """Create the seats of a seated section, row by row, centred, with x/y for
    the map and a best-available rank. Returns how many seats were made."""
    if section.is_general_admission:
        raise CatalogError(gettext("Standing sections have a capacity, not seats."))
    if len(rows) != len(seats_per_row):
        raise CatalogError(gettext("One seat count per row."))
    if section.items.exists():
        raise CatalogError(gettext("An event already sells this section, so its seat map can no longer change."))
    if replace:
        section.seats.all().delete()
    last_row = section.seats.aggregate(last=Max("row_index"))["last"]
    first_new_row = 0 if last_row is None else last_row + 1
    widest = max(seats_per_row)
    seats = []
    for offset, (label, count) in enumerate(zip(rows, seats_per_row, strict=True)):
        row_index = first_new_row + offset
        indent = (widest - count) / 2
        for number in range(1, count + 1):
            seats.append(
                Seat(
                    section=section,
                    row_label=label,
                    row_index=row_index,
                    number=number,
                    rank=seat_rank(row_index, number, count),
                    x=(indent + number - 1) * SEAT_SPACING,
                    y=row_index * SEAT_SPACING,
                )
            )
    try:
        with transaction.atomic():
            Seat.objects.bulk_create(seats, batch_size=5000)
    except Exception as exc:  # IntegrityError: a row/number already exists
        raise CatalogError(gettext("Could not add the seats: %(error)s") % {"error": exc}) from exc
    section.capacity = section.seats.count()
    section.save(update_fields=["capacity"])
    return len(seats)


def create_event_inventory(*, event: Event) -> int:
    """Create the event's inventory rows from its venue's map in two
    INSERT ... SELECT statements (one per seat, one per general-admission
    place). Idempotent: existing rows are kept. Returns rows created."""
    sql_seats = """
        INSERT INTO inventory_item
            (event_id, section_id, seat_id, place_number, row_label, row_index, number, rank,
             status, updated_at)
        SELECT %s, s.section_id, s.id, NULL, s.row_label, s.row_index, s.number, s.rank,
               'AVAILABLE', now()
        FROM inventory_seat s
        JOIN inventory_section sec ON sec.id = s.section_id
        WHERE sec.venue_id = %s AND sec.kind = 'SEATED'
        ON CONFLICT DO NOTHING
    """
    sql_places = """
        INSERT INTO inventory_item
            (event_id, section_id, seat_id, place_number, row_label, row_index, number, rank,
             status, updated_at)
        SELECT %s, sec.id, NULL, n, '', 0, n, n, 'AVAILABLE', now()
        FROM inventory_section sec, generate_series(1, sec.capacity) AS n
        WHERE sec.venue_id = %s AND sec.kind = 'GA'
        ON CONFLICT DO NOTHING
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql_seats, [event.pk, event.venue_id])
        created: int = cursor.rowcount
        cursor.execute(sql_places, [event.pk, event.venue_id])
        created += cursor.rowcount
    return created


# --- JSON export/import -------------------------------------------------------
