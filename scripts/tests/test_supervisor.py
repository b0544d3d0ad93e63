"""`make run`'s supervisor leaves nothing behind: not a child that ignores
SIGTERM, not a grandchild, not when the supervisor itself is killed, not when
make is interrupted. Real processes (scripts/tests/fake_child.py); every wait
is bounded."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import devstack

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")

FAKE_CHILD = str(Path(__file__).with_name("fake_child.py"))
GRACE = 1.0  # STOP_GRACE_SECONDS for these tests
WAIT = 20.0  # upper bound of every wait (a loaded 2-core machine)


def running(pid: int) -> bool:
    """Alive and not a zombie (PID 1 here may never reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def wait_until(condition, what: str, timeout: float = WAIT) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Stack:
    """A supervisor process over fake children, with its output readable line by line."""

    def __init__(self, tmp_path: Path, children: list[tuple[str, str, int | None]], *, grace: float = GRACE) -> None:
        self.pidfile = tmp_path / "pids"
        self.pidfile.touch()
        spec = [
            [name, [sys.executable, FAKE_CHILD, str(self.pidfile), name, mode, *([str(port)] if port else [])]]
            for name, mode, port in children
        ]
        self.expected = sum(2 if mode == "forks" else 1 for _, mode, _ in children)
        self.spec = tmp_path / "spec.json"
        self.spec.write_text(json.dumps(spec))
        self.env = {**os.environ, "STOP_GRACE_SECONDS": str(grace), "PYTHONUNBUFFERED": "1"}
        self.lines: queue.Queue[str] = queue.Queue()
        self.proc: subprocess.Popen[str] | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "scripts.tests.supervise", str(self.spec)]

    def start(self, cmd: list[str] | None = None) -> subprocess.Popen[str]:
        # Its own session, as a terminal's job is its own process group: the
        # test's signals reach it and nothing else.
        self.proc = subprocess.Popen(
            cmd or self.command(),
            cwd=devstack.ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        wait_until(lambda: len(self.pids()) == self.expected, "the children's pids")
        return self.proc

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.put(line)

    def wait_for_line(self, fragment: str) -> None:
        deadline = time.monotonic() + WAIT
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            seen.append(line)
            if fragment in line:
                return
        raise AssertionError(f"no line with {fragment!r} in {seen}")

    def pids(self) -> dict[str, int]:
        return {role: int(pid) for role, pid in (line.split() for line in self.pidfile.read_text().splitlines())}

    def exits_within(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def cleanup(self) -> None:
        """Whatever a failing test left running, killed."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(WAIT)
        for line in self.pidfile.read_text().splitlines():
            if running(pid := int(line.split()[1])):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[Stack]]:
    made: list[Stack] = []
    yield made
    for stack in made:
        stack.cleanup()


@pytest.fixture
def make_stack(tmp_path: Path, stacks: list[Stack]):  # type: ignore[no-untyped-def]
    def make(children: list[tuple[str, str, int | None]], **kwargs: float) -> Stack:
        stack = Stack(tmp_path, children, **kwargs)
        stacks.append(stack)
        return stack

    return make


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period_and_its_port_is_free(make_stack):
    port = free_port()
    stack = make_stack([("web", "stubborn", port), ("worker", "obedient", None)])
    stack.start()
    os.kill(stack.proc.pid, signal.SIGTERM)
    # Grace 1 s, then SIGKILL: well under the old fixed 10 s.
    assert stack.exits_within(GRACE + 5) == 0
    assert not any(running(pid) for pid in stack.pids().values())
    assert port_is_free(port), "the port is still held after the supervisor returned"


def test_a_grandchild_ignoring_sigterm_is_killed_with_its_group(make_stack):
    stack = make_stack([("worker", "forks", None)])
    stack.start()
    os.kill(stack.proc.pid, signal.SIGINT)
    stack.exits_within(WAIT)
    pids = stack.pids()
    assert not running(pids["worker"])
    assert not running(pids["worker.grandchild"]), "the grandchild outlived make run"


def test_when_a_child_exits_on_its_own_its_leftover_group_is_stopped_too(make_stack, tmp_path):
    stack = make_stack([("worker", "forks", None), ("web", "obedient", None)])
    stack.start()
    os.kill(stack.pids()["worker"], signal.SIGTERM)  # the worker's main process dies
    stack.wait_for_line("stopping everything")
    stack.exits_within(WAIT)
    assert not any(running(pid) for pid in stack.pids().values())


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP, signal.SIGQUIT])
def test_children_do_not_outlive_a_killed_supervisor(make_stack, sig):
    stack = make_stack([("web", "stubborn", None), ("worker", "forks", None)])
    stack.start()
    os.kill(stack.proc.pid, sig)
    stack.exits_within(WAIT)
    for role, pid in stack.pids().items():
        wait_until(lambda pid=pid: not running(pid), f"{role} {pid} to die with its supervisor")


def test_a_second_ctrl_c_kills_at_once_and_still_waits_for_every_child(make_stack):
    port = free_port()
    stack = make_stack([("web", "stubborn", port), ("worker", "forks", None)], grace=300)
    stack.start()
    os.kill(stack.proc.pid, signal.SIGINT)
    stack.wait_for_line("stopping")
    os.kill(stack.proc.pid, signal.SIGINT)
    stack.exits_within(5)  # not the 300 s grace
    assert not any(running(pid) for pid in stack.pids().values())
    assert port_is_free(port)


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_ctrl_c_on_make_run_stops_everything_even_when_pressed_twice(make_stack, tmp_path):
    """A terminal's Ctrl-C reaches make and the supervisor alike (one process group)."""
    stack = make_stack([("web", "stubborn", None), ("worker", "forks", None)], grace=300)
    recipe = " ".join(stack.command())
    (tmp_path / "Makefile").write_text(f"run:\n\t{recipe}\n")
    make = stack.start(["make", "-s", "-f", str(tmp_path / "Makefile"), "run"])
    os.killpg(make.pid, signal.SIGINT)
    stack.wait_for_line("stopping")
    os.killpg(make.pid, signal.SIGINT)
    stack.exits_within(10)
    assert not any(running(pid) for pid in stack.pids().values())
