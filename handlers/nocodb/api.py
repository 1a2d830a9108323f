"""The httpx client of NocoDB's v2 meta and data APIs (header ``xc-token``).

Transport errors, 429 and 5xx become ``NocoUnavailable`` (retry later); any other
4xx becomes ``NocoRejected`` with NocoDB's own message.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.nocodb.api import NocoRejected, NocoUnavailable

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class HttpNocoApi:
    """``bot.nocodb.api.NocoApi`` over HTTP."""

    def __init__(self, url: str, token: str, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient(
            base_url=url.rstrip("/"), timeout=TIMEOUT,
            headers={"xc-token": token, "Content-Type": "application/json"})

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, body: Any = None,
                    params: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise NocoUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise NocoUnavailable(f"HTTP {response.status_code} {method} {path}")
        if response.status_code >= 400:
            raise NocoRejected(f"HTTP {response.status_code} {method} {path}: "
                               f"{response.text[:300]}")
        return response.json() if response.content else None

    async def list_tables(self, base_id: str) -> list[dict[str, Any]]:
        return list((await self._call("GET", f"/api/v2/meta/bases/{base_id}/tables"))["list"])

    async def table(self, table_id: str) -> dict[str, Any]:
        return dict(await self._call("GET", f"/api/v2/meta/tables/{table_id}"))

    async def create_table(self, base_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("POST", f"/api/v2/meta/bases/{base_id}/tables", body))

    async def add_column(self, table_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("POST", f"/api/v2/meta/tables/{table_id}/columns", body))

    async def update_column(self, column_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("PATCH", f"/api/v2/meta/columns/{column_id}", body))

    async def list_hooks(self, table_id: str) -> list[dict[str, Any]]:
        return list((await self._call("GET", f"/api/v2/meta/tables/{table_id}/hooks"))["list"])

    async def create_hook(self, table_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("POST", f"/api/v2/meta/tables/{table_id}/hooks", body))

    async def records(self, table_id: str, *, where: str = "", fields: str = "",
                      sort: str = "", limit: int = 1000, offset: int = 0) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        for name, value in (("where", where), ("fields", fields), ("sort", sort)):
            if value:
                params[name] = value
        return dict(await self._call("GET", f"/api/v2/tables/{table_id}/records",
                                     params=params))

    async def insert(self, table_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        result = await self._call("POST", f"/api/v2/tables/{table_id}/records", rows)
        return list(result if isinstance(result, list) else [result])

    async def update(self, table_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        result = await self._call("PATCH", f"/api/v2/tables/{table_id}/records", rows)
        return list(result if isinstance(result, list) else [result])

    async def last_editor(self, table_id: str, row_id: int) -> str | None:
        try:
            found = await self._call("GET", "/api/v2/meta/audits", params={
                "row_id": row_id, "fk_model_id": table_id, "limit": 1})
        except (NocoRejected, NocoUnavailable):
            return None  # the audit log is optional (plans, permissions): the edit is not
        entries = (found or {}).get("list") or []
        user = entries[0].get("display_name") or entries[0].get("user") if entries else None
        return str(user)[:100] if user else None
