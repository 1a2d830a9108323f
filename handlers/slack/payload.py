"""Reading Slack payloads: a value that cannot be what it claims is ``Malformed``.

Listeners read the fields they need inside ``with parsing(...)``, so a forged or broken
value (a button value that is not ``"12:7"``, an unknown select option, unreadable
private_metadata) is told apart from a bug in the core: the first is the sender's fault
and is ignored with one warning; the second is logged with its traceback
(``app.tolerant``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Malformed(Exception):
    """A field of a Slack payload is missing or not what it should be."""


@contextmanager
def parsing(what: str) -> Iterator[None]:
    """Turn the lookup and conversion errors of reading ``what`` into ``Malformed``."""
    try:
        yield
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise Malformed(f"{what}: {type(exc).__name__}: {exc}") from exc


def who_and_where(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user id, channel id) of any payload bolt hands a listener (an interaction's
    body, a slash command, an event), or ``None`` where it does not say."""
    if not isinstance(payload, dict):
        return None, None
    user = payload.get("user")
    user_id = user.get("id") if isinstance(user, dict) else user or payload.get("user_id")
    channel = payload.get("channel")
    channel_id = channel.get("id") if isinstance(channel, dict) else channel or \
        payload.get("channel_id")
    return (str(user_id) if user_id else None), (str(channel_id) if channel_id else None)
