"""A small persistent key-value store for front ends' own state.

Backs python-telegram-bot's persistence (conversation state, callback data) with our
database instead of a pickle file beside the code, and keeps markers such as "morning
summary sent for 2026-12-07".
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from bot.process.clock import Clock
from db.models import KeyValue


class KeyValueStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def get(self, namespace: str, key: str, default: Any = None) -> Any:
        row = await KeyValue.get_or_none(namespace=namespace, key=key)
        return row.value if row else default

    async def all(self, namespace: str) -> dict[str, Any]:
        return {r.key: r.value for r in await KeyValue.filter(namespace=namespace)}

    async def set(self, namespace: str, key: str, value: Any) -> None:
        now = self._clock.now()
        updated = await KeyValue.filter(namespace=namespace, key=key).update(value=value,
                                                                             updated_at=now)
        if not updated:
            try:
                await KeyValue.create(namespace=namespace, key=key, value=value, updated_at=now)
            except IntegrityError:
                await KeyValue.filter(namespace=namespace, key=key).update(value=value,
                                                                           updated_at=now)

    async def add_if_absent(self, namespace: str, key: str, value: Any) -> bool:
        """Set only if new; True when this call created it (a cross-process claim)."""
        try:
            await KeyValue.create(namespace=namespace, key=key, value=value,
                                  updated_at=self._clock.now())
            return True
        except IntegrityError:
            return False

    async def delete(self, namespace: str, key: str) -> None:
        await KeyValue.filter(namespace=namespace, key=key).delete()
