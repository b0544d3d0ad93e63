from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from queueroom.models import new_shuffle_key
from queueroom.shuffle import Permutation, commitment


@pytest.mark.parametrize("m", [1, 2, 3, 7, 64, 1000, 2049])
def test_pre_queue_shuffle_is_a_permutation(m: int) -> None:
    perm = Permutation(new_shuffle_key(), m)
    places = [perm.place(t) for t in range(1, m + 1)]
    assert sorted(places) == list(range(1, m + 1))
    assert all(perm.ticket_at(perm.place(t)) == t for t in range(1, m + 1))


def test_shuffle_depends_on_the_key() -> None:
    a, b = Permutation("00" * 32, 500), Permutation("11" * 32, 500)
    assert a.order() != b.order()
    assert a.order() != list(range(1, 501))


def test_verify_shuffle_accepts_the_committed_key_and_refuses_another(capsys) -> None:  # type: ignore[no-untyped-def]
    key = "ab" * 32
    call_command("verify_shuffle", key=key, commitment=commitment(key), count=10, ticket=3)
    out = capsys.readouterr().out
    assert "OK: the key matches the commitment" in out
    assert f"ticket 3 has place {Permutation(key, 10).place(3)}" in out
    with pytest.raises(CommandError, match="MISMATCH"):
        call_command("verify_shuffle", key="cd" * 32, commitment=commitment(key), count=10)
