from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """schemathesis 4.32 makes one item per API operation, named after it, but
    pytest 9.2 builds node ids from the function's name alone: every operation
    would share one id, and xdist would report one of them. Give each item its
    operation in its id (test_api_answers_as_documented[GET /readyz])."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and item._id.params is None:  # noqa: SLF001 - no public way to set it
            item._id = item._id.with_params(label)  # noqa: SLF001
