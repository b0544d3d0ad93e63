"""What inventory tells other apps, without knowing them.

``order_paid`` (kwargs ``order_id``, ``owner``, ``event_id``) is sent once an order became
PAID, after the commit: the waiting room ends the fan's store session on it,
so the store slot goes to the next fan at once. Receivers must not fail the
sale: send_robust is used.
"""

from __future__ import annotations

from django.dispatch import Signal

order_paid = Signal()
