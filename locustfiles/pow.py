"""The proof of work a join carries (queueroom.bots), for the load scenarios:
fetch the event's challenge and solve it with the altcha library, as the
waiting page's widget does in a browser. An event that asks for none (404
``no_challenge``) gets a plain join."""

from __future__ import annotations

from typing import Any

import altcha


def solve(challenge: dict[str, Any]) -> str:
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    if solution is None:
        raise RuntimeError("the challenge was not solved in time")
    return altcha.Payload(parsed, solution).to_base64()


def join_body(client: Any, slug: str) -> dict[str, str]:
    """The JSON body of a join: {"altcha": <solution>} or {} (no challenge asked)."""
    with client.get(
        f"/api/v1/events/{slug}/queue/challenge/", name="/api/v1/events/[slug]/queue/challenge/", catch_response=True
    ) as response:
        if response.status_code == 404:
            response.success()  # the event asks for no proof of work: a plain join
            return {}
        if response.status_code != 200:
            # A refused challenge (503 Redis down, 429 a flood): no join
            # without it. (Either Locust client: FastHttpUser's responses
            # raise only for connection errors.)
            response.failure(f"challenge: {response.status_code}")
            raise RuntimeError(f"no challenge: {response.status_code}")
        return {"altcha": solve(response.json())}
