"""``savepoint()`` is a real nested transaction everywhere except inside the running
task's ``optimistic()`` batch, where it opens nothing and a failure inside it (even one
caught on the way) marks the batch failed for the caller to roll back and redo."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from tortoise.transactions import in_transaction

from bot.storage.savepoints import optimistic, savepoint
from db.models import Customer
from tests.statements import count_statements

NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


async def _customer(name: str) -> None:
    await Customer.create(name=name, phone=f"+5691{abs(hash(name)) % 10**7:07d}",
                          created_at=NOW)


async def _names() -> set[str]:
    return set(await Customer.all().values_list("name", flat=True))


async def test_outside_a_batch_a_failure_rolls_back_its_savepoint_alone(database: str) -> None:
    async with in_transaction():
        await _customer("Ana")
        with pytest.raises(RuntimeError):
            async with savepoint():
                await _customer("Beto")
                raise RuntimeError("falla")
    assert await _names() == {"Ana"}


async def test_inside_a_batch_nothing_is_opened_and_a_caught_failure_marks_it(
        database: str) -> None:
    with count_statements() as seen:
        async with in_transaction(), optimistic() as batch:
            async with savepoint():
                await _customer("Ana")
            assert batch.failed is None
            try:
                async with savepoint():
                    await _customer("Beto")
                    raise RuntimeError("falla")
            except RuntimeError:
                pass  # caught, as a unit's caller catches a stale ticket
            assert isinstance(batch.failed, RuntimeError)
    assert "savepoint" not in seen.transactions
    assert seen.transactions.count("begin") == 1
    # nothing was rolled back here: rolling back is the batch's caller's decision
    assert await _names() == {"Ana", "Beto"}


async def test_a_failure_leaving_the_batch_is_its_failure(database: str) -> None:
    with pytest.raises(ValueError):
        async with optimistic() as batch:
            raise ValueError("sin savepoint")
    assert isinstance(batch.failed, ValueError)


async def test_a_task_started_inside_a_batch_gets_real_savepoints(database: str) -> None:
    async def elsewhere() -> None:
        async with in_transaction():
            with pytest.raises(RuntimeError):
                async with savepoint():
                    await _customer("Beto")
                    raise RuntimeError("falla")
            await _customer("Carla")

    async with optimistic() as batch:
        await asyncio.create_task(elsewhere())
    assert batch.failed is None  # not this batch's failure
    assert await _names() == {"Carla"}
