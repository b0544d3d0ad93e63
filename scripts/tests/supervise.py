"""`python -m scripts.tests.supervise SPEC.json`: devstack's Supervisor over the
commands listed in SPEC (`[[name, [argv...]], ...]`), the way `make run` runs
its processes, so that tests can signal and kill it like a user would."""

import json
import os
import sys

from scripts import devstack


def main() -> int:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    sup = devstack.Supervisor(dict(os.environ))
    for name, cmd in spec:
        sup.start(name, cmd)
    devstack.say("started")
    return sup.wait()


if __name__ == "__main__":
    sys.exit(main())
