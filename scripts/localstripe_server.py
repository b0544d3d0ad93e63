"""Run localstripe (the Stripe emulator) on a given port, with its state in a
file of our choosing or nowhere.

localstripe itself pickles its whole store to /tmp/localstripe.pickle after
every write: one file shared by every instance on the machine (parallel test
workers would overwrite each other's) and a cost that grows with the store.
``--state FILE`` keeps it in FILE instead (``make run``: under .var/), and no
``--state`` keeps it in memory only (tests).

    python scripts/localstripe_server.py --port 8420 [--state .var/localstripe/state.pickle]
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state", type=Path, default=None)
    args = parser.parse_args(argv)

    from localstripe import resources, server

    state: Path | None = args.state

    def load(self: Any) -> None:
        if state is not None and state.exists():
            with state.open("rb") as f:
                self.clear()
                self.update(pickle.load(f))  # noqa: S301 - our own file under .var/

    def dump(self: Any) -> None:
        if state is not None:
            tmp = state.with_suffix(".tmp")
            with tmp.open("wb") as f:
                pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(state)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump
    sys.argv = ["localstripe", "--port", str(args.port)]
    server.start()


if __name__ == "__main__":
    main(sys.argv[1:])
