"""The waiting room's admission gate for payments (registered into
inventory.hooks by PaymentsConfig.ready): while the PSP's circuit breaker is
not closed, fans let into the store could not pay, so the admitter lets
nobody in; fans keep their places. Its detail line is the PSP's state on the
promoter's live panel."""

from __future__ import annotations

from django.conf import settings

from inventory.hooks import GateState
from payments import breaker, bucket

REASON = "payments_unavailable"


def admission_gate() -> GateState:
    now = breaker.status()
    rate = f"bucket {settings.PSP_BUCKET_PER_MINUTE}/min, {bucket.backlog_seconds():.1f} s booked ahead"
    if now.state == breaker.CLOSED:
        return GateState(open=True, detail=f"PSP circuit breaker closed ({now.failures} failures in a row); {rate}")
    return GateState(
        open=False,
        reason=REASON,
        detail=(
            f"PSP circuit breaker {now.state} after {now.failures} failures: admission paused; "
            f"next trial call in {now.retry_after} s; {rate}"
        ),
    )
