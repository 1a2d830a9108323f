"""Inline-button payloads: short, self-describing strings (Telegram allows 64 bytes).

``<action>:<ticket>:<version>[:<arg>]``, e.g. ``t:12:3:R`` (Tipo_Incidencia Reclamo on
ticket #12 as drawn at version 3). The version lets a press on an old card be told
apart from a fresh one (the core raises ``StaleAction``); everything a button needs is
in its payload, so buttons keep working after a restart without any stored state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.process.domain import Canal, Estado, Prioridad, TipoIncidencia
from bot.process.template_names import TemplateName

MAX_BYTES = 64
SEP = ":"

# --- card and menu actions ------------------------------------------------------------
CARD = "c"  # show the ticket's card (no version check)
HISTORY = "h"
TIPO = "t"  # arg: TIPO_CODES
ACCEPT = "sg"  # Aceptar sugerencia (triage): the suggestion stored at that version
PRIO = "p"  # arg: PRIO_CODES
ASSIGN_MENU = "a"
ASSIGN = "am"  # arg: member id
REPLY_MENU = "r"
REPLY_PREVIEW = "rp"  # arg: template index
REPLY_SEND = "rs"  # arg: template index
REPLY_SEND_EDITED = "rz"  # arg: template index (text kept in user_data)
REPLY_EDIT = "re"  # arg: template index
PROPOSE = "pr"
PROPOSE_SEND = "ps"  # arg: "" or "d" (with the detail kept in user_data)
PROPOSE_DETAIL = "pd"
CONFIRM = "ok"
REJECT = "no"
REOPEN = "ro"
DISCARD = "d"
DISCARD_REASON = "dq"  # arg: index in DISCARD_REASONS
CLOSE = "x"  # close a menu or preview (nothing changes)
MERGE = "fu"  # number: the customer kept, arg: the customer merged into it
LIST = "L"  # number: page, arg: filter code
# --- /nuevo ---------------------------------------------------------------------------
NEW_CUSTOMER = "nc"  # number: customer id
NEW_NAMELESS = "nn"  # create the customer without a name
NEW_CHANNEL = "nk"  # arg: Canal value
NEW_TIPO = "nt"  # arg: TIPO_CODES or "-"
NEW_PRIO = "np"  # arg: PRIO_CODES or "-"
NEW_CONFIRM = "ny"  # arg: "1" create, "0" do not

TIPO_CODES: dict[str, TipoIncidencia] = {t.value[0]: t for t in TipoIncidencia}
PRIO_CODES: dict[str, Prioridad] = {p.value[0]: p for p in Prioridad}
TEMPLATES: tuple[TemplateName, ...] = tuple(TemplateName)
ESTADOS: tuple[Estado, ...] = tuple(Estado)
CANALES: tuple[Canal, ...] = tuple(Canal)
DISCARD_REASONS: tuple[str, ...] = ("Spam", "Duplicado", "No corresponde a Atención al Cliente")

_SAFE_ARG = re.compile(r"^[\w.\-]*$")


@dataclass(frozen=True)
class Press:
    """A decoded button press."""

    action: str
    number: int = 0
    version: int = 0
    arg: str = ""


def encode(action: str, number: int = 0, version: int = 0, arg: str | int = "") -> str:
    """The payload of one button; ValueError if it would not fit Telegram's 64 bytes."""
    arg = str(arg)
    if SEP in action or not _SAFE_ARG.match(arg):
        raise ValueError(f"unsafe callback part: {action!r} {arg!r}")
    data = SEP.join([action, str(number), str(version)] + ([arg] if arg else []))
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Press | None:
    """The press, or None for a payload we did not make (old bot, other client)."""
    if not data:
        return None
    parts = data.split(SEP, 3)
    if len(parts) < 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return Press(parts[0], int(parts[1]), int(parts[2]), parts[3] if len(parts) > 3 else "")


def pattern(*actions: str) -> re.Pattern[str]:
    """For ``CallbackQueryHandler(pattern=...)``: payloads of these actions."""
    return re.compile("^(?:" + "|".join(re.escape(a) for a in actions) + ")" + SEP)


def template_at(arg: str) -> TemplateName | None:
    return TEMPLATES[int(arg)] if arg.isdigit() and int(arg) < len(TEMPLATES) else None


def template_index(name: TemplateName) -> int:
    return TEMPLATES.index(name)
