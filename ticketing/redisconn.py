"""The options every Redis client of the project is made with (queueroom's
scripts, the limiters): bounded waits, so a Redis that stops answering costs
a request about REDIS_SOCKET_TIMEOUT, then a 503. from_url clients do not
retry, so that is the whole wait.

The waiting room's clients (queueroom.redis_scripts, ticketing.limiters) are
made by ``queue_client``/``queue_async_client``: a plain Redis at
settings.QUEUE_REDIS_URL (REDIS_URL unless set), or, with
settings.QUEUE_REDIS_CLUSTER, redis-py's RedisCluster with that URL as its
startup node (docs/redis-cluster.md).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aredis
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

# Settings that change the clients: tests that point Redis elsewhere reset them.
CLIENT_SETTINGS = (
    "REDIS_URL",
    "REDIS_CONNECT_TIMEOUT",
    "REDIS_SOCKET_TIMEOUT",
    "QUEUE_REDIS_URL",
    "QUEUE_REDIS_CLUSTER",
)

# A cluster client retries a command once after a connection error or a
# timeout (having refreshed its map of the slots: a failed-over primary),
# at once: a dead node costs a request at most two socket timeouts.
CLUSTER_RETRIES = 1


def client_options() -> dict[str, Any]:
    return {
        "decode_responses": True,
        "max_connections": 64,
        "socket_connect_timeout": settings.REDIS_CONNECT_TIMEOUT,
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "socket_keepalive": True,
    }


def queue_url() -> str:
    """The waiting room's Redis (a node of the cluster, on a cluster)."""
    return str(settings.QUEUE_REDIS_URL or settings.REDIS_URL)


def queue_is_cluster() -> bool:
    return bool(settings.QUEUE_REDIS_CLUSTER)


def queue_client() -> redis.Redis:
    """A new sync client of the waiting room's Redis (max_connections is per node on a cluster)."""
    if queue_is_cluster():
        # RedisCluster answers every command a Redis does (keys routed by
        # slot); the callers use it through that common interface.
        cluster = redis.RedisCluster.from_url(
            queue_url(), retry=Retry(NoBackoff(), CLUSTER_RETRIES), **client_options()
        )
        return cluster  # type: ignore[return-value]
    return redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(queue_url(), **pool_options()))


def pool_options() -> dict[str, Any]:
    """A single Redis's pool: at most max_connections at once, and a command
    that finds them all busy waits up to REDIS_SOCKET_TIMEOUT for one to come
    back instead of failing at once. The simulation's surge at the opening
    (every pre-queue fan polling as the draw lands) found the plain pool's
    "Too many connections": 503s to fans whose place was fine."""
    return {**client_options(), "timeout": settings.REDIS_SOCKET_TIMEOUT}


def queue_async_client() -> aredis.Redis:
    """queue_client for asyncio (one per event loop: the callers keep them)."""
    if queue_is_cluster():
        cluster = aredis.RedisCluster.from_url(
            queue_url(), retry=AsyncRetry(NoBackoff(), CLUSTER_RETRIES), **client_options()
        )
        return cluster  # type: ignore[return-value]
    return aredis.Redis(connection_pool=aredis.BlockingConnectionPool.from_url(queue_url(), **pool_options()))


# --- pipelines that run scripts -------------------------------------------------------
# redis-py's cluster pipeline refuses EVALSHA (and so every Lua script), and
# the waiting room pipelines scripts: the heartbeats of the WebSocket hub's
# connections, the join's token buckets in the bot gate. On a cluster these
# go through NodePipeline (sync) or FanOut (asyncio) instead.

# Redirections and a resharding in progress: the command is sent again
# through the cluster client, which follows them and refreshes its slot map.
_REDIRECTED = (
    redis.exceptions.MovedError,
    redis.exceptions.AskError,
    redis.exceptions.TryAgainError,
)


@dataclass
class _Queued:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    @property
    def key(self) -> Any:
        """The key the command is routed by (a script's first key), or None."""
        if self.name.upper() in ("EVALSHA", "EVAL"):
            return self.args[2] if int(self.args[1]) > 0 else None
        return self.args[0] if self.args else None


class _Recorder:
    """Queues any client method called on it, as a pipeline does."""

    def __init__(self, sources: dict[str, str]) -> None:
        self._sources = sources  # script sha -> source, to load a script a node lost
        self._queued: list[_Queued] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def queue(*args: Any, **kwargs: Any) -> Any:
            self._queued.append(_Queued(name, args, kwargs))
            return self

        return queue

    def __len__(self) -> int:
        return len(self._queued)

    def _missing_script(self, cmd: _Queued, reply: object) -> str | None:
        """The source of the script a NOSCRIPT reply asks for, if it is ours."""
        if isinstance(reply, redis.exceptions.NoScriptError) and cmd.name.upper() == "EVALSHA":
            return self._sources.get(str(cmd.args[0]))
        return None

    @staticmethod
    def _finish(replies: list[Any], raise_on_error: bool) -> list[Any]:
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
        return replies


class NodePipeline(_Recorder):
    """A non-transactional pipeline on a RedisCluster that may hold scripts:
    the commands are grouped by the node that serves their key and each group
    is one plain pipeline to that node (one round trip per node touched, in
    turn). Replies come back in the order the commands were queued. When a
    node lost a script (a restart, a failover) the script is loaded again
    (SCRIPT LOAD, once, to every primary) and the commands that needed it run
    again, as a single Redis's pipeline would have loaded it first; a
    redirected command follows the cluster."""

    def __init__(self, cluster: redis.RedisCluster, sources: dict[str, str]) -> None:
        super().__init__(sources)
        self._cluster = cluster

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        queued, self._queued = self._queued, []
        by_node: dict[str, tuple[Any, list[int]]] = {}
        cluster: Any = self._cluster  # its node lookups are untyped
        for i, cmd in enumerate(queued):
            key = cmd.key
            node = cluster.get_node_from_key(key) if key is not None else cluster.get_default_node()
            by_node.setdefault(node.name, (node, []))[1].append(i)
        replies: list[Any] = [None] * len(queued)
        for node, indexes in by_node.values():
            conn = self._cluster.get_redis_connection(node)
            got = self._run(conn, [queued[i] for i in indexes])
            retry, missing = [], set()
            for i, reply in zip(indexes, got, strict=True):
                source = self._missing_script(queued[i], reply)
                if source is not None:
                    missing.add(source)
                    retry.append(i)
                replies[i] = reply
            for source in missing:
                self._cluster.script_load(source)  # to every primary, as Script objects do
            for i, reply in zip(retry, self._run(conn, [queued[i] for i in retry]), strict=True):
                replies[i] = reply
        for i, reply in enumerate(replies):
            if isinstance(reply, _REDIRECTED):
                try:
                    replies[i] = getattr(self._cluster, queued[i].name)(*queued[i].args, **queued[i].kwargs)
                except redis.exceptions.RedisError as exc:
                    replies[i] = exc
        return self._finish(replies, raise_on_error)

    @staticmethod
    def _run(conn: redis.Redis, cmds: list[_Queued]) -> list[Any]:
        if not cmds:
            return []
        pipe = conn.pipeline(transaction=False)
        for cmd in cmds:
            getattr(pipe, cmd.name)(*cmd.args, **cmd.kwargs)
        return list(pipe.execute(raise_on_error=False))


# The asyncio cluster client runs no pipeline of scripts either, and its own
# connections per node are few and never waited for (MaxConnectionsError when
# all are busy): FanOut talks to each master through a plain asyncio client of
# that master, kept per cluster client (so per event loop).
_node_clients: weakref.WeakKeyDictionary[aredis.RedisCluster, dict[str, aredis.Redis]] = weakref.WeakKeyDictionary()


def _node_client(cluster: aredis.RedisCluster, node: Any) -> aredis.Redis:
    clients = _node_clients.setdefault(cluster, {})
    found = clients.get(node.name)
    if found is None:
        found = clients[node.name] = aredis.Redis(host=node.host, port=node.port, **client_options())
    return found


class FanOut(_Recorder):
    """NodePipeline for asyncio: one plain pipeline per master touched, all
    sent at once (about one round trip in all), the same script loading and
    redirections."""

    def __init__(self, cluster: aredis.RedisCluster, sources: dict[str, str]) -> None:
        super().__init__(sources)
        self._cluster = cluster

    def __await__(self) -> Any:
        """A script called with ``client=`` this awaits the queued call, as on an asyncio pipeline."""

        async def queued() -> FanOut:
            return self

        return queued().__await__()

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        queued, self._queued = self._queued, []
        cluster: Any = self._cluster  # its node lookups are untyped
        await cluster.initialize()  # the slot map (a no-op once known)
        by_node: dict[str, tuple[Any, list[int]]] = {}
        for i, cmd in enumerate(queued):
            key = cmd.key
            node = cluster.get_node_from_key(key) if key is not None else cluster.get_default_node()
            by_node.setdefault(node.name, (node, []))[1].append(i)
        replies: list[Any] = [None] * len(queued)
        groups = list(by_node.values())
        outcomes = await asyncio.gather(
            *(
                self._on_node(_node_client(self._cluster, node), [queued[i] for i in indexes])
                for node, indexes in groups
            ),
            return_exceptions=True,
        )
        for (_, indexes), outcome in zip(groups, outcomes, strict=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # a cancellation, not a reply
            for n, i in enumerate(indexes):
                replies[i] = outcome if isinstance(outcome, Exception) else outcome[n]
        for i, reply in enumerate(replies):
            if isinstance(reply, _REDIRECTED):
                try:
                    replies[i] = await getattr(self._cluster, queued[i].name)(*queued[i].args, **queued[i].kwargs)
                except redis.exceptions.RedisError as exc:
                    replies[i] = exc
        return self._finish(replies, raise_on_error)

    async def _on_node(self, conn: aredis.Redis, cmds: list[_Queued]) -> list[Any]:
        got = await self._run(conn, cmds)
        retry, missing = [], set()
        for n, (cmd, reply) in enumerate(zip(cmds, got, strict=True)):
            source = self._missing_script(cmd, reply)
            if source is not None:
                missing.add(source)
                retry.append(n)
        for source in missing:
            await self._cluster.script_load(source)  # to every primary
        for n, reply in zip(retry, await self._run(conn, [cmds[n] for n in retry]), strict=True):
            got[n] = reply
        return got

    @staticmethod
    async def _run(conn: aredis.Redis, cmds: list[_Queued]) -> list[Any]:
        if not cmds:
            return []
        pipe = conn.pipeline(transaction=False)
        for cmd in cmds:
            getattr(pipe, cmd.name)(*cmd.args, **cmd.kwargs)
        return list(await pipe.execute(raise_on_error=False))


def script_pipeline(client: redis.Redis | redis.RedisCluster, scripts: dict[str, Any]) -> Any:
    """A non-transactional pipeline of ``client`` that its ``scripts``
    (redis-py Script objects) can be called in (``script(keys=, args=,
    client=pipe)``), also on a cluster: NodePipeline there."""
    if isinstance(client, redis.RedisCluster):
        return NodePipeline(client, {s.sha: s.script for s in scripts.values()})
    return client.pipeline(transaction=False)


def async_script_pipeline(client: aredis.Redis | aredis.RedisCluster, scripts: dict[str, Any]) -> Any:
    """script_pipeline for an asyncio client (FanOut on a cluster)."""
    if isinstance(client, aredis.RedisCluster):
        return FanOut(client, {s.sha: s.script for s in scripts.values()})
    return client.pipeline(transaction=False)
