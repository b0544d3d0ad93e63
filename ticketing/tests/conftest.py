# Tests here drive the whole stack, the waiting room included: each starts
# with an empty queue key space, as the waiting room's own tests do.
from queueroom.tests.conftest import _clean_queue_state  # noqa: F401
