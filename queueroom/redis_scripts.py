"""The waiting room's Redis clients and Lua scripts: every Redis call of the
queue goes through here. Key names are queueroom.keys; replies are parsed
into named rows by queueroom.replies.

The scripts live in queueroom/lua/<name>.lua (so editors and linters see
Lua), read once when this module is imported and registered with each
client (EVALSHA, falling back to EVAL after a Redis restart). They are
found next to this file: no build step copies them.

On a Redis Cluster (settings.QUEUE_REDIS_CLUSTER, docs/redis-cluster.md) the
clients are RedisCluster: each script runs on the node of its keys' slot
(every key a script touches carries its event's hash tag, queueroom.keys),
SCRIPT LOAD goes to every primary, and a pipeline that runs scripts is
``pipeline()`` (redis-py's cluster pipeline refuses scripts).
"""

from __future__ import annotations

import asyncio
import weakref
from functools import cache
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aredis
from django.core.signals import setting_changed

from ticketing.redisconn import CLIENT_SETTINGS, queue_async_client, queue_client, script_pipeline

LUA_DIR = Path(__file__).resolve().parent / "lua"
NAMES = ("join", "status", "claim", "heartbeat", "leave", "end_session", "tick", "leader", "release")


def _load(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")


# A missing or unreadable file fails the import: the process does not start without its scripts.
_SCRIPTS = {name: _load(name) for name in NAMES}


@cache
def client() -> redis.Redis:
    return queue_client()


@cache
def _sync_scripts() -> dict[str, Any]:
    c = client()
    return {name: c.register_script(src) for name, src in _SCRIPTS.items()}


def run(name: str, keys: list[str], args: list[Any], *, pipe: Any = None) -> Any:
    script = _sync_scripts()[name]
    if pipe is not None:
        return script(keys=keys, args=args, client=pipe)
    return script(keys=keys, args=args)


def pipeline() -> Any:
    """A non-transactional pipeline of the queue's client to ``run`` scripts
    in (``pipe=``); on a cluster, one that can (ticketing.redisconn.NodePipeline)."""
    return script_pipeline(client(), _sync_scripts())


_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[aredis.Redis, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def async_client() -> tuple[aredis.Redis, dict[str, Any]]:
    """An asyncio client (and its scripts) for the running event loop."""
    loop = asyncio.get_running_loop()
    found = _async.get(loop)
    if found is None:
        c = queue_async_client()
        found = (c, {name: c.register_script(src) for name, src in _SCRIPTS.items()})
        _async[loop] = found
    return found


def reset_clients(**kwargs: Any) -> None:
    """Forget the clients, so the next call connects with the current
    settings (tests point the queue at a private Redis this way)."""
    if kwargs.get("setting") not in (None, *CLIENT_SETTINGS):
        return
    if client.cache_info().currsize:
        client().close()
    client.cache_clear()
    _sync_scripts.cache_clear()
    _async.clear()


setting_changed.connect(reset_clients, dispatch_uid="queueroom.redis_scripts.reset_clients")
