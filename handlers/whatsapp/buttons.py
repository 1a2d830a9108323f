"""The conformity request's reply buttons: their ids and labels, shared by the sender
(which draws them) and the webhook (which reads the customer's tap)."""

from __future__ import annotations

from dataclasses import dataclass

YES_LABEL = "Sí, está resuelto"
NO_LABEL = "No, sigue pendiente"
_PREFIX = "conf"


def yes_id(ticket: int) -> str:
    return f"{_PREFIX}:yes:{ticket}"


def no_id(ticket: int) -> str:
    return f"{_PREFIX}:no:{ticket}"


@dataclass(frozen=True)
class ConformityAnswer:
    ticket: int
    accepted: bool


def parse(button_id: str | None) -> ConformityAnswer | None:
    """``conf:yes:12`` -> (12, True); anything else (someone else's button) -> None."""
    parts = (button_id or "").split(":")
    if len(parts) != 3 or parts[0] != _PREFIX or parts[1] not in ("yes", "no"):
        return None
    if not parts[2].isdigit() or len(parts[2]) > 12:
        return None
    return ConformityAnswer(int(parts[2]), parts[1] == "yes")
