"""The bootstrap's decisions: where PostgreSQL and Redis come from."""

import socket

import pytest

from scripts import devstack


def plan(**overrides):
    args = {
        "name": "PostgreSQL",
        "env_url": None,
        "default_url": "postgres://postgres@127.0.0.1:5432/ticketing",
        "private_url": "postgres://postgres@127.0.0.1:54329/ticketing",
        "default_answers": False,
        "private_answers": False,
        "binaries_present": False,
        "root_with_apt": False,
        "package": "postgresql",
    }
    args.update(overrides)
    return devstack.plan_service(**args)


def test_an_explicit_url_wins_over_everything():
    result = plan(env_url="postgres://u@db:5432/x", default_answers=True, binaries_present=True)
    assert (result.action, result.url) == ("env", "postgres://u@db:5432/x")


def test_a_server_on_the_standard_port_is_used():
    result = plan(default_answers=True, binaries_present=True)
    assert (result.action, result.url) == ("existing", "postgres://postgres@127.0.0.1:5432/ticketing")


def test_a_private_server_already_running_is_reused():
    result = plan(private_answers=True, binaries_present=True)
    assert (result.action, result.url) == ("private-running", "postgres://postgres@127.0.0.1:54329/ticketing")


def test_installed_binaries_start_a_private_server():
    assert plan(binaries_present=True).action == "private-start"


def test_root_with_apt_installs_the_package():
    result = plan(root_with_apt=True)
    assert result.action == "install"
    assert "postgresql" in result.message


def test_otherwise_a_clear_message_says_what_to_install():
    result = plan(name="Redis", package="redis-server")
    assert result.action == "missing"
    assert "apt-get install redis-server" in result.message
    assert "REDIS_URL" in result.message


def test_port_answers_detects_a_listening_socket():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert devstack.port_answers("127.0.0.1", port)
    assert not devstack.port_answers("127.0.0.1", port)


@pytest.mark.parametrize("value, expected", [("1", True), ("yes", True), ("off", False), ("", False)])
def test_envbool_reads_booleans(monkeypatch, value, expected):
    from ticketing.env import envbool

    monkeypatch.setenv("X_FLAG", value)
    assert envbool("X_FLAG", not expected) is expected


def test_env_helpers_refuse_malformed_values(monkeypatch):
    from ticketing.env import ImproperEnv, envbool, envint

    monkeypatch.setenv("X_FLAG", "maybe")
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperEnv, match="X_FLAG"):
        envbool("X_FLAG", False)
    with pytest.raises(ImproperEnv, match="X_NUM"):
        envint("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperEnv, match=">= 1"):
        envint("X_NUM", 5, minimum=1)


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    code = "import django; django.setup()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "ticketing.settings"},
        cwd=devstack.ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_psp_plan_uses_the_environment_then_a_running_localstripe_then_starts_one():
    assert devstack.plan_psp(env_base="https://api.stripe.com", default_answers=True).action == "env"
    assert devstack.plan_psp(env_base=None, default_answers=True).action == "existing"
    started = devstack.plan_psp(env_base=None, default_answers=False)
    assert (started.action, started.url) == ("private-start", "http://127.0.0.1:8420")
