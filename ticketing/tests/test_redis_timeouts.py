"""Redis clients configured by the settings give up instead of hanging, and
the timeouts come from the environment."""

from __future__ import annotations

import kombu.exceptions
import pytest

from ticketing.tests.redis_outage import PrivateRedis, bounded


def test_envfloat_reads_numbers_and_refuses_the_rest(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ticketing.env import ImproperEnv, envfloat

    assert envfloat("X_SECONDS", 1.5) == 1.5
    monkeypatch.setenv("X_SECONDS", "0.25")
    assert envfloat("X_SECONDS", 1.5, minimum=0.05) == 0.25
    for bad in ("soon", "nan", "inf"):
        monkeypatch.setenv("X_SECONDS", bad)
        with pytest.raises(ImproperEnv, match="X_SECONDS"):
            envfloat("X_SECONDS", 1.5)
    monkeypatch.setenv("X_SECONDS", "0")
    with pytest.raises(ImproperEnv, match=">= 0.05"):
        envfloat("X_SECONDS", 1.5, minimum=0.05)


def test_celery_publish_gives_up_when_the_broker_hangs(private_redis: PrivateRedis) -> None:
    from ticketing.celery import app

    def publish() -> None:
        with app.connection_for_write(private_redis.url) as connection:
            app.send_task("inventory.sweep_expired_locks", connection=connection, retry=False)

    publish()
    private_redis.pause()
    try:
        with pytest.raises(kombu.exceptions.OperationalError, match="Timeout"):
            bounded(publish)
    finally:
        private_redis.resume()
    publish()
