"""A stand-in for the processes `make run` supervises, misbehaving on request.

    python fake_child.py PIDFILE NAME MODE [PORT]

MODE `obedient` exits on SIGTERM; `stubborn` ignores SIGTERM (a web process
stuck in a deadlock); `forks` starts a grandchild that ignores SIGTERM and then
exits on SIGTERM itself (a worker whose pool outlives it). The pids go to
PIDFILE, one `NAME pid` (and `NAME.grandchild pid`) per line, written when
the process is ready. With
PORT, the stubborn process listens on it, as Daphne holds its port.
"""

import os
import signal
import socket
import sys


def record(pidfile: str, role: str) -> None:
    with open(pidfile, "a") as f:
        f.write(f"{role} {os.getpid()}\n")


def stubborn(pidfile: str, role: str, port: int | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    listener = None
    if port:
        listener = socket.socket()
        listener.bind(("127.0.0.1", port))
        listener.listen()
    record(pidfile, role)
    while True:
        signal.pause()


def main() -> None:
    pidfile, name, mode = sys.argv[1:4]
    port = int(sys.argv[4]) if len(sys.argv) > 4 else None
    if mode == "stubborn":
        stubborn(pidfile, name, port)
    if mode == "forks" and os.fork() == 0:
        stubborn(pidfile, f"{name}.grandchild", port)
    record(pidfile, name)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
