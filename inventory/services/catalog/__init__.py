"""Write paths for the promoter's catalog: seat maps and event inventory
(seating), JSON import/export (files)."""

from inventory.services.catalog.files import (
    EVENT_FIELDS,
    EVENT_FORMAT,
    VENUE_FORMAT,
    export_event,
    export_venue,
    import_event,
    import_venue,
)
from inventory.services.catalog.seating import (
    SEAT_SPACING,
    CatalogError,
    create_event_inventory,
    generate_seats,
    parse_row_labels,
    parse_seat_counts,
    seat_rank,
)

__all__ = [
    "EVENT_FIELDS",
    "EVENT_FORMAT",
    "SEAT_SPACING",
    "VENUE_FORMAT",
    "CatalogError",
    "create_event_inventory",
    "export_event",
    "export_venue",
    "generate_seats",
    "import_event",
    "import_venue",
    "parse_row_labels",
    "parse_seat_counts",
    "seat_rank",
]
