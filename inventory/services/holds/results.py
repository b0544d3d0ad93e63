"""What the hold services return, and the idempotency key a hold carries."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class HeldItem:
    id: int
    section: str
    row: str
    number: int | None
    place: int | None
    price: Decimal
    fee: Decimal


@dataclass(frozen=True)
class Hold:
    order_id: uuid.UUID
    status: str
    expires_at: dt.datetime
    total: Decimal
    currency: str
    items: tuple[HeldItem, ...]


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key for one hold request and the hash of that request,
    written on the order the hold creates, in the same statement
    (inventory.services.idempotency decides what a repeated key means)."""

    key: str
    request_hash: str
