"""``atiende nocodb setup`` and ``check``: the base as the process needs it.

``setup`` only adds: missing tables, columns, links, select options and the webhooks
that bring edits back. It never drops, renames or retypes anything the company made,
so running it twice (or on a base the company already uses) changes nothing it should
not. ``check`` reads the live schema and says, one line each, what does not fit.
"""

from __future__ import annotations

from typing import Any

from bot.nocodb.api import NocoApi
from bot.nocodb.mapping import DISPLAY, LINK_TYPES, TABLES, Column, Schema, column_title
from bot.process.settings import Settings

HOOK_PREFIX = "atiende"
HOOK_OPERATIONS = ("update", "bulkUpdate")
PULL_TABLES = ("Clientes", "Tickets")
SECRET_HEADER = "X-Atiende-Secret"


async def resolve(api: NocoApi, settings: Settings) -> Schema:
    """Table ids (by title, or ``ATIENDE_NOCODB_TABLES``), column titles and link keys."""
    schema = Schema()
    found = {t["title"]: t["id"] for t in await api.list_tables(settings.nocodb_base_id)}
    for table in TABLES:
        table_id = settings.nocodb_tables.get(table) or found.get(table)
        if not table_id:
            continue
        schema.tables[table] = table_id
        columns = (await api.table(table_id)).get("columns", [])
        by_id = {c["id"]: c for c in columns}
        for spec in TABLES[table]:
            title = column_title(settings.nocodb_columns, table, spec.name)
            schema.titles[f"{table}.{spec.name}"] = title
            if spec.link_to:
                link = next((c for c in columns if c["title"] == title
                             and c["uidt"] in LINK_TYPES), None)
                fk_id = ((link or {}).get("colOptions") or {}).get("fk_child_column_id")
                if fk_id in by_id:
                    schema.fks[f"{table}.{spec.name}"] = by_id[fk_id]["title"]
    return schema


def _column_body(spec: Column, title: str, display: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"column_name": title, "title": title, "uidt": spec.uidt}
    if spec.options:
        body["colOptions"] = {"options": [{"title": o} for o in spec.options]}
    if display:
        body["pv"] = True
    return body


async def setup(api: NocoApi, settings: Settings, webhook_url: str = "") -> list[str]:
    """Create what is missing; returns one line per thing created (empty: nothing to do)."""
    done: list[str] = []
    base = settings.nocodb_base_id
    over = settings.nocodb_columns
    found = {t["title"]: t["id"] for t in await api.list_tables(base)}
    ids: dict[str, str] = {}
    for table, specs in TABLES.items():
        table_id = settings.nocodb_tables.get(table) or found.get(table)
        if not table_id:
            cols = [{"column_name": "id", "title": "Id", "uidt": "ID"}]
            cols += [_column_body(s, column_title(over, table, s.name),
                                  s.name == DISPLAY[table]) for s in specs if not s.link_to]
            table_id = (await api.create_table(base, {"table_name": table, "title": table,
                                                      "columns": cols}))["id"]
            done.append(f"tabla {table} creada")
        ids[table] = table_id
        done += await _complete_table(api, table, table_id, specs, over, ids)
    if webhook_url:
        done += await _hooks(api, ids, webhook_url, settings.nocodb_webhook_secret)
    return done


async def _complete_table(api: NocoApi, table: str, table_id: str, specs: tuple[Column, ...],
                          over: dict[str, str], ids: dict[str, str]) -> list[str]:
    done: list[str] = []
    existing = {c["title"]: c for c in (await api.table(table_id)).get("columns", [])}
    for spec in specs:
        title = column_title(over, table, spec.name)
        current = existing.get(title)
        if current is None and spec.link_to:
            await api.add_column(table_id, {
                "uidt": "Links", "title": title, "column_name": title, "type": "bt",
                "parentId": ids[spec.link_to], "childId": table_id})
            done.append(f"{table}.{title}: enlace a {spec.link_to} creado")
        elif current is None:
            await api.add_column(table_id, _column_body(spec, title))
            done.append(f"{table}.{title}: columna creada")
        elif spec.options and current.get("uidt") == "SingleSelect":
            options = (current.get("colOptions") or {}).get("options", [])
            have = {o.get("title") for o in options}
            missing = [o for o in spec.options if o not in have]
            if missing:
                body = {k: v for k, v in current.items() if k in (
                    "column_name", "title", "uidt", "dt", "meta")}
                body["colOptions"] = {"options": list(options) + [{"title": o}
                                                                  for o in missing]}
                await api.update_column(current["id"], body)
                done.append(f"{table}.{title}: opciones agregadas: {', '.join(missing)}")
    return done


async def _hooks(api: NocoApi, ids: dict[str, str], url: str, secret: str) -> list[str]:
    done: list[str] = []
    for table in PULL_TABLES:
        titles = {h.get("title") for h in await api.list_hooks(ids[table])}
        for operation in HOOK_OPERATIONS:
            title = f"{HOOK_PREFIX}-{operation}"
            if title in titles:
                continue
            await api.create_hook(ids[table], {
                "title": title, "event": "after", "operation": operation, "version": "v2",
                "active": True, "notification": {"type": "URL", "payload": {
                    "method": "POST", "path": url, "body": "{{ json data }}",
                    "headers": [{"name": SECRET_HEADER, "value": secret, "enabled": True}]}}})
            done.append(f"{table}: webhook {operation} registrado")
    return done


async def check(api: NocoApi, settings: Settings) -> list[str]:
    """One line per problem between the settings/mapping and the live base."""
    problems = [f"ATIENDE_NOCODB_{name.upper()} no está configurado"
                for name in ("url", "token", "base_id")
                if not getattr(settings, f"nocodb_{name}")]
    if problems:
        return problems
    found = {t["title"]: t["id"] for t in await api.list_tables(settings.nocodb_base_id)}
    for table, specs in TABLES.items():
        table_id = settings.nocodb_tables.get(table) or found.get(table)
        if not table_id:
            problems.append(f"falta la tabla {table}")
            continue
        columns = {c["title"]: c for c in (await api.table(table_id)).get("columns", [])}
        for spec in specs:
            title = column_title(settings.nocodb_columns, table, spec.name)
            col = columns.get(title)
            if col is None:
                problems.append(f"{table}: falta la columna {title}")
                continue
            uidt = col.get("uidt")
            same = uidt == spec.uidt or (spec.link_to and uidt in LINK_TYPES)
            if not same:
                problems.append(f"{table}.{title}: tipo {uidt}, se espera {spec.uidt}")
            if spec.options and uidt == "SingleSelect":
                have = {o.get("title") for o in (col.get("colOptions") or {}).get("options", [])}
                for option in spec.options:
                    if option not in have:
                        problems.append(f"{table}.{title}: falta la opción «{option}»")
    return problems
