"""Bots (docs/security.md, "Bots"): a queue place costs a proof of work, and
clients caught abusing the join get places that lead nowhere (or last).

The proof of work is ALTCHA (the ``altcha`` library, protocol v2): the server
signs a challenge (HMAC) that names the event and expires, the browser's
widget (static/vendor/altcha/) brute-forces a counter, and the join carries
the solution. The challenge is made in deterministic mode with a signed
derived key, so checking a solution is two HMACs (no hashing of our own):
cheap enough for the fast path's event loop. Each solution is accepted once
(its signature is SET NX in Redis until the challenge expires).

A client address is flagged for settings.BOT_FLAG_SECONDS when it
- makes more than settings.BOT_ABUSE_LIMIT joins the limits refuse,
- runs out of new fan identities (the new-fan bucket refuses it), or
- sends a forged, expired, replayed or wrong solution, or one for another event.
A flagged client's new places go to the event's lane for flagged fans
(QueueConfig.flagged_fans): the back of the line, or a shadow line the tick
never admits. Its answers look like everyone's.

Everything a join needs from Redis here (the limits' token buckets, the
flag, the solution's first use) is one pipelined round trip; refusals pay a
second one to record what happened. If Redis is down the join is answered
503 at once (it needs the same Redis); any other Redis error lets the join
through unflagged: like the limits, this must never be what stops a sale.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import altcha
import redis
from django.conf import settings
from django.core.signals import setting_changed

from queueroom import keys, limits
from queueroom import redis_scripts as rs
from queueroom.models import QueueConfig
from queueroom.services.errors import REDIS_DOWN, QueueError, unavailable
from queueroom.services.setup import QueueSetup
from ticketing import limiters
from ticketing.redisconn import async_script_pipeline, script_pipeline

log = logging.getLogger(__name__)

CHALLENGE_REQUIRED = "challenge_required"
CHALLENGE_FAILED = "challenge_failed"
ALGORITHM = "SHA-256"
MAX_PAYLOAD = 2048  # a real payload is ~700 bytes of base64
FIELD = "altcha"  # the JSON key of the API join and the page form's field


# --- the challenge ------------------------------------------------------------------


@cache
def _secrets() -> tuple[bytes, bytes]:
    """(challenge signing key, derived-key signing key), both derived from
    settings.QUEUE_CHALLENGE_HMAC_KEY so one setting rotates both."""
    root = settings.QUEUE_CHALLENGE_HMAC_KEY.encode()
    return (
        hmac.new(root, b"altcha challenge", hashlib.sha256).digest(),
        hmac.new(root, b"altcha derived key", hashlib.sha256).digest(),
    )


@cache
def _abuse_log() -> limiters.SlidingLog | None:
    return limiters.SlidingLog.parse(settings.BOT_ABUSE_LIMIT)


def _reset(**kwargs: Any) -> None:
    if kwargs.get("setting") in (None, "QUEUE_CHALLENGE_HMAC_KEY", "BOT_ABUSE_LIMIT"):
        _secrets.cache_clear()
        _abuse_log.cache_clear()


setting_changed.connect(_reset, dispatch_uid="queueroom.bots.reset")


def new_challenge(event_id: int, max_number: int, *, now: float) -> dict[str, Any]:
    """A signed challenge for one join of the event (the JSON the widget
    fetches). The secret counter is drawn from [max/2, max]: the browser
    tries counters from 0, so a solve costs max/2 to max hashes, and asking
    for new challenges until a cheap one comes buys nothing."""
    low = max_number // 2
    counter = low + secrets.randbelow(max_number - low + 1)
    challenge_secret, key_secret = _secrets()
    challenge = altcha.create_challenge(
        ALGORITHM,
        1,
        counter=counter,
        expires_at=int(now) + int(settings.QUEUE_CHALLENGE_TTL_SECONDS),
        data={"event": event_id},
        hmac_secret=challenge_secret,
        hmac_key_secret=key_secret,
    )
    return dict(challenge.to_dict())


def solve(challenge: dict[str, Any]) -> str:
    """The payload a browser would send for ``challenge`` (tests, load scripts)."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()


@dataclass(frozen=True)
class Proof:
    """What a payload proves before Redis is asked whether it was used."""

    code: str | None  # None: solved; else CHALLENGE_REQUIRED or CHALLENGE_FAILED
    reason: str  # ok, missing, malformed, forged, expired, other_event, wrong, replayed
    signature: str = ""
    ttl: int = 0

    @property
    def flags(self) -> bool:
        """Whether this answer flags its client: anything but no answer at all
        (a browser without JavaScript is not a bot)."""
        return self.code == CHALLENGE_FAILED


_PARAMS = frozenset(
    {"algorithm", "cost", "keyLength", "keyPrefix", "nonce", "salt", "keySignature", "expiresAt", "data"}
)
_PLAIN = re.compile(r"[A-Za-z0-9/_.+=-]*")  # what our parameters' strings hold: JSON without escapes
_HEX = re.compile(r"(?:[0-9a-f]{2})+")


def _our_shape(params: object) -> bool:
    """Whether ``params`` has exactly the shape new_challenge signs: then
    json.dumps with sorted keys is byte for byte the library's canonical JSON
    (ASCII keys sort alike in UTF-16, the strings need no escapes, the
    integers are safe). Nothing else can carry our signature."""
    if not isinstance(params, dict) or params.keys() != _PARAMS:
        return False
    data = params["data"]
    if not (isinstance(data, dict) and data.keys() == {"event"} and type(data["event"]) is int):
        return False
    for name in ("cost", "keyLength", "expiresAt"):
        if type(params[name]) is not int or not 0 <= params[name] < 2**53:
            return False
    return all(
        isinstance(params[name], str) and _PLAIN.fullmatch(params[name])
        for name in ("algorithm", "keyPrefix", "nonce", "salt", "keySignature")
    )


def _signed(params: dict[str, Any], signature: object) -> bool:
    """The ALTCHA v2 challenge signature: HMAC-SHA-256 of the canonical JSON of the parameters."""
    if not isinstance(signature, str):
        return False
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    expected = hmac.new(_secrets()[0], canonical.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def _solved(params: dict[str, Any], solution: object) -> bool:
    """The ALTCHA v2 fast check of a deterministic challenge: the HMAC of the
    derived key the browser found is the key signature we signed."""
    derived = solution.get("derivedKey") if isinstance(solution, dict) else None
    if not isinstance(derived, str) or not _HEX.fullmatch(derived):
        return False
    expected = hmac.new(_secrets()[1], bytes.fromhex(derived), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, params["keySignature"])


def check_proof(payload: object, *, event_id: int, now: float) -> Proof:
    """Check a solution's signature, expiry, event and answer, CPU only;
    whether it was used before is asked in the join's pipeline.

    This is the altcha library's verify_solution (protocol v2, the signed
    derived key) narrowed to the one shape of challenge we issue, ~6 times
    faster (the library's JavaScript-exact canonical JSON alone costs ~85 µs
    per join in pure Python; the fast path runs this on its event loop).
    queueroom/tests/test_bots.py holds the two to the same answers."""
    if payload in (None, ""):
        return Proof(CHALLENGE_REQUIRED, "missing")
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD:
        return Proof(CHALLENGE_FAILED, "malformed")
    try:
        doc = json.loads(base64.b64decode(payload, validate=True))
        challenge, solution = doc["challenge"], doc["solution"]
        params, signature = challenge["parameters"], challenge.get("signature")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return Proof(CHALLENGE_FAILED, "malformed")
    if not _our_shape(params) or not _signed(params, signature):
        return Proof(CHALLENGE_FAILED, "forged")
    if params["expiresAt"] < now:
        return Proof(CHALLENGE_FAILED, "expired")
    if params["data"]["event"] != event_id:
        return Proof(CHALLENGE_FAILED, "other_event")
    if not _solved(params, solution):
        return Proof(CHALLENGE_FAILED, "wrong")
    return Proof(None, "ok", signature=signature, ttl=max(int(params["expiresAt"] - now) + 1, 1))


def _refusal(proof: Proof) -> QueueError:
    if proof.code == CHALLENGE_REQUIRED:
        return QueueError(
            "Solve the challenge first: GET the queue's challenge/ and send the solution as 'altcha'.",
            code=CHALLENGE_REQUIRED,
        )
    return QueueError(f"The challenge solution was refused ({proof.reason}).", code=CHALLENGE_FAILED)


# --- flags and the join's gate ----------------------------------------------------------


# Per client address or solution, not per event: under the waiting room's prefix, no hash tag.
def flag_key(address: str) -> str:
    return f"{keys.prefix()}bot:flag:{address}"


def used_key(signature: str) -> str:
    return f"{keys.prefix()}bot:used:{signature}"


def abuse_key(address: str) -> str:
    return f"{keys.prefix()}bot:abuse:{address}"


@dataclass(frozen=True)
class Verdict:
    """A join let through: whether its client is flagged."""

    flagged: bool = False


@dataclass
class _Gate:
    """One join's checks, planned before the round trip."""

    event_id: int
    address: str
    now: float
    calls: list[tuple[limiters.TokenBucket, str]]
    proof: Proof | None  # None: the event has no challenge
    want_flag: bool
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def nothing_to_ask(self) -> bool:
        """No limits, no flags, no challenge: no round trip at all."""
        return not self.calls and not self.want_flag and self.proof is None


def _plan(setup: QueueSetup, address: str, *, new_fan: bool, now: float, payload: object, limits_done: bool) -> _Gate:
    proof = check_proof(payload, event_id=setup.event_id, now=now) if setup.challenge_max_number > 0 else None
    return _Gate(
        event_id=setup.event_id,
        address=address,
        now=now,
        calls=[] if limits_done else limits.join_calls(address, new_fan=new_fan),
        proof=proof,
        want_flag=setup.flagged_fans != QueueConfig.FlaggedFans.OFF,
    )


def _buckets(gate: _Gate, pipe: Any, sha: str) -> None:
    """The join limits' token buckets, by EVALSHA: redis-py's script objects
    make a pipeline ask SCRIPT EXISTS first, a second round trip per join;
    a missing script is loaded on demand (after a Redis restart)."""
    for bucket, name in gate.calls:
        pipe.evalsha(sha, 1, name, *bucket.args(gate.now))


def _script_missing(gate: _Gate, replies: list[Any]) -> bool:
    return any(isinstance(r, redis.exceptions.NoScriptError) for r in replies[: len(gate.calls)])


def _raised(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def _extras(gate: _Gate, pipe: Any) -> None:
    """After the token buckets: the flag, then the solution's first use."""
    if gate.want_flag:
        pipe.exists(flag_key(gate.address))
    if gate.proof is not None and gate.proof.code is None:
        pipe.set(used_key(gate.proof.signature), gate.event_id, nx=True, ex=gate.proof.ttl)


def _judge(gate: _Gate, replies: list[Any]) -> tuple[QueueError | None, Verdict, dict[str, int]]:
    """The refusal (or None), the verdict, and the counters to add."""
    n = len(gate.calls)
    decisions = [bucket.decide(reply) for (bucket, _), reply in zip(gate.calls, replies[:n], strict=True)]
    rest = replies[n:]
    flagged = bool(rest.pop(0)) if gate.want_flag else False
    proof = gate.proof
    if proof is not None and proof.code is None and not rest.pop(0):
        proof = Proof(CHALLENGE_FAILED, "replayed")
    refused = limits.verdict(decisions)
    if refused is not None:
        gate.results["abuse"] = 1
        # Out of new identities: one address making fan after fan is a script.
        gate.results["flag"] = any(
            not d.allowed and name.startswith(limiters.key("fan:a"))
            for d, (_, name) in zip(decisions, gate.calls, strict=True)
        )
        return refused, Verdict(flagged), {"rate_limited": 1}
    if proof is not None and proof.code is not None:
        gate.results["flag"] = proof.flags
        return _refusal(proof), Verdict(flagged), {f"challenge_{proof.reason}": 1}
    return None, Verdict(flagged), ({"flagged_joins": 1} if flagged else {})


def _record(gate: _Gate, pipe: Any, counts: dict[str, int]) -> None:
    """Queue the follow-up writes: the admin's counters, and the flag."""
    for name, count in counts.items():
        pipe.hincrby(keys.bots(gate.event_id), name, count)
    if gate.results.get("flag"):
        pipe.set(flag_key(gate.address), 1, ex=int(settings.BOT_FLAG_SECONDS))
        pipe.hincrby(keys.bots(gate.event_id), "flags_raised", 1)


def _needs_followup(gate: _Gate, counts: dict[str, int]) -> bool:
    return bool(counts) or bool(gate.results.get("flag")) or bool(gate.results.get("abuse"))


def _abuse_args(gate: _Gate) -> tuple[limiters.SlidingLog, list[str], list[Any]] | None:
    abuse = _abuse_log()
    if abuse is None or not gate.results.get("abuse") or gate.results.get("flag"):
        return None
    member = f"{gate.now!r}:{secrets.token_hex(4)}"
    return abuse, [abuse_key(gate.address)], abuse.args(gate.now, member)


def check_join(
    setup: QueueSetup, address: str, *, new_fan: bool, now: float, payload: object, limits_done: bool = False
) -> Verdict:
    """The join's limits, proof of work and flag; raises QueueError
    (rate_limited, challenge_required, challenge_failed) to refuse it."""
    # A refused solution still takes the limits' tokens (a flood of garbage
    # costs tokens too) and is recorded.
    gate = _plan(setup, address, new_fan=new_fan, now=now, payload=payload, limits_done=limits_done)
    if gate.nothing_to_ask:
        return Verdict()
    try:
        c, scripts = limiters.sync_client()
        bucket_script = scripts["token_bucket"]
        pipe = script_pipeline(c, scripts)
        _buckets(gate, pipe, bucket_script.sha)
        _extras(gate, pipe)
        replies = pipe.execute(raise_on_error=False)
        if _script_missing(gate, replies):  # Redis restarted or flushed: load it, take the tokens again
            c.script_load(bucket_script.script)
            pipe = script_pipeline(c, scripts)
            _buckets(gate, pipe, bucket_script.sha)
            replies[: len(gate.calls)] = pipe.execute(raise_on_error=False)
        refusal, verdict, counts = _judge(gate, _raised(replies))
        if _needs_followup(gate, counts):
            pipe = script_pipeline(c, scripts)
            _record(gate, pipe, counts)
            abuse = _abuse_args(gate)
            if abuse is not None:
                scripts["sliding_log"](keys=abuse[1], args=abuse[2], client=pipe)
            replies = pipe.execute()
            if abuse is not None and not abuse[0].decide(replies[-1], now=now).allowed:
                c.set(flag_key(address), 1, ex=int(settings.BOT_FLAG_SECONDS))
                c.hincrby(keys.bots(gate.event_id), "flags_raised", 1)
    except REDIS_DOWN as exc:
        # The join needs the same Redis: say so now rather than wait for it twice.
        raise unavailable(exc) from exc
    except redis.RedisError as exc:
        log.warning("bot checks skipped: redis %s", type(exc).__name__)
        if gate.proof is not None and gate.proof.code is not None:
            raise _refusal(gate.proof) from exc
        return Verdict()
    if refusal is not None:
        raise refusal
    return verdict


async def acheck_join(
    setup: QueueSetup, address: str, *, new_fan: bool, now: float, payload: object, limits_done: bool = False
) -> Verdict | QueueError:
    """check_join for the event loop: the verdict, or the refusal."""
    gate = _plan(setup, address, new_fan=new_fan, now=now, payload=payload, limits_done=limits_done)
    if gate.nothing_to_ask:
        return Verdict()
    try:
        c, scripts = limiters.async_client()
        bucket_script = scripts["token_bucket"]
        pipe = async_script_pipeline(c, scripts)
        _buckets(gate, pipe, bucket_script.sha)
        _extras(gate, pipe)
        replies = await pipe.execute(raise_on_error=False)
        if _script_missing(gate, replies):
            await c.script_load(bucket_script.script)
            pipe = async_script_pipeline(c, scripts)
            _buckets(gate, pipe, bucket_script.sha)
            replies[: len(gate.calls)] = await pipe.execute(raise_on_error=False)
        refusal, verdict, counts = _judge(gate, _raised(replies))
        if _needs_followup(gate, counts):
            pipe = async_script_pipeline(c, scripts)
            _record(gate, pipe, counts)
            abuse = _abuse_args(gate)
            if abuse is not None:
                await scripts["sliding_log"](keys=abuse[1], args=abuse[2], client=pipe)
            replies = await pipe.execute()
            if abuse is not None and not abuse[0].decide(replies[-1], now=now).allowed:
                await c.set(flag_key(address), 1, ex=int(settings.BOT_FLAG_SECONDS))
                await c.hincrby(keys.bots(gate.event_id), "flags_raised", 1)
    except REDIS_DOWN as exc:
        return unavailable(exc)
    except redis.RedisError as exc:
        log.warning("bot checks skipped: redis %s", type(exc).__name__)
        if gate.proof is not None and gate.proof.code is not None:
            return _refusal(gate.proof)
        return Verdict()
    return refusal if refusal is not None else verdict


# --- a verdict taken on the fast path, for Django's view ------------------------------

_SCOPE = "queueroom.bot_verdict"


def mark_checked(scope: dict[str, Any], verdict: Verdict) -> None:
    """The fast path judged this join already (limits taken, solution used):
    a fall-through to Django must not judge it again."""
    limits.mark_checked(scope)
    scope[_SCOPE] = verdict


def checked_upstream(request: object) -> Verdict | None:
    scope = getattr(request, "scope", None)
    found = scope.get(_SCOPE) if scope else None
    return found if isinstance(found, Verdict) else None


def figures(event_id: int) -> dict[str, int]:
    """The counters for the admin (field -> count)."""
    raw = rs.client().hgetall(keys.bots(event_id))
    return {str(k): int(v) for k, v in raw.items()}


def admin_rows(event_id: int, doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The promoter's bot figures (queueroom.admin's live panel): places in
    the flagged lanes, flags raised, joins refused and why."""
    counts = figures(event_id)
    rows = []
    for lane in doc["lanes"].values():
        if lane.get("kind") in ("BACK", "SHADOW"):
            waiting = max(lane["seq"] - lane["front"] - lane["gone"], 0)
            rows.append((f"Flagged fans ({lane['kind'].lower()})", f"{lane['seq']} places given, {waiting} waiting"))
    refused = {k.removeprefix("challenge_"): v for k, v in sorted(counts.items()) if k.startswith("challenge_")}
    rows.append(("Client addresses flagged", str(counts.get("flags_raised", 0))))
    rows.append(("Joins from flagged addresses", str(counts.get("flagged_joins", 0))))
    rows.append(("Joins refused by the limits", str(counts.get("rate_limited", 0))))
    rows.append(("Bot checks refused", ", ".join(f"{k} {v}" for k, v in refused.items()) or "0"))
    return rows
