"""The NocoDB calls the sync needs, as an interface: the HTTP client lives in
``handlers/nocodb/`` (httpx), so ``bot/`` stays free of HTTP libraries and the tests
can put the real client in front of the real server (or a faulty proxy).
"""

from __future__ import annotations

from typing import Any, Protocol


class NocoUnavailable(Exception):
    """NocoDB did not answer, or answered 429/5xx: retry later, nothing is lost."""


class NocoRejected(Exception):
    """NocoDB refused the request (4xx other than 429): retrying the same cannot help."""


class NocoApi(Protocol):
    async def list_tables(self, base_id: str) -> list[dict[str, Any]]: ...

    async def table(self, table_id: str) -> dict[str, Any]: ...

    async def create_table(self, base_id: str, body: dict[str, Any]) -> dict[str, Any]: ...

    async def add_column(self, table_id: str, body: dict[str, Any]) -> dict[str, Any]: ...

    async def update_column(self, column_id: str, body: dict[str, Any]) -> dict[str, Any]: ...

    async def list_hooks(self, table_id: str) -> list[dict[str, Any]]: ...

    async def create_hook(self, table_id: str, body: dict[str, Any]) -> dict[str, Any]: ...

    async def records(self, table_id: str, *, where: str = "", fields: str = "",
                      sort: str = "", limit: int = 1000, offset: int = 0) -> dict[str, Any]: ...

    async def insert(self, table_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    async def update(self, table_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    async def last_editor(self, table_id: str, row_id: int) -> str | None:
        """Who last changed the row (NocoDB's audit log), if NocoDB says."""
        ...
