"""What every front end shows and reads about a customer, in one place.

The lookups (``/cliente``) list the same fields everywhere; the edit commands
(``/cliente_editar`` in Telegram and the console) take the same Spanish field names; a
merge is confirmed with the same summary. Texts are plain: each front end escapes them.
"""

from __future__ import annotations

from bot.people.customer_changes import FIELDS
from bot.process.errors import InvalidInput
from bot.process.views import CustomerView

FIELD_LABELS: dict[str, str] = {field: label for field, (label, _) in FIELDS.items()}

# What people type -> the field of ``CustomerService.update``.
EDIT_FIELDS: dict[str, str] = {
    "nombre": "name", "pila": "first_name", "nombre_pila": "first_name",
    "tratamiento": "form_of_address", "rut": "rut", "correo": "email", "email": "email",
    "telefono": "phone", "teléfono": "phone", "empresa": "company", "notas": "notes",
}
EDIT_USAGE = ("Uso: /cliente_editar CLIENTE CAMPO VALOR (CLIENTE: su número, correo, teléfono "
              "o RUT; CAMPO: nombre, pila, tratamiento, rut, correo, telefono, empresa o "
              "notas; VALOR «-» lo deja vacío). Ejemplo: /cliente_editar 12 rut 12.345.678-5")
MERGE_USAGE = ("Uso: /fusionar A B: el cliente B pasa a ser el cliente A (sus tickets, "
               "correo, teléfono y RUT). A y B: número, correo, teléfono o RUT del cliente.")


def parse_edit(words: list[str]) -> tuple[str, dict[str, str]]:
    """``["12", "rut", "12.345.678-5"]`` -> ``("12", {"rut": "12.345.678-5"})``."""
    if len(words) < 3 and not (len(words) == 2 and words[1].lower() in EDIT_FIELDS):
        raise InvalidInput(EDIT_USAGE)
    ref, word = words[0], words[1].lower()
    field = EDIT_FIELDS.get(word)
    if field is None:
        raise InvalidInput(f"No conozco el campo «{word[:30]}». {EDIT_USAGE}")
    value = " ".join(words[2:]).strip()
    return ref, {field: "" if value in ("", "-") else value}


def parse_merge(words: list[str]) -> tuple[str, str]:
    if len(words) != 2:
        raise InvalidInput(MERGE_USAGE)
    return words[0], words[1]


def customer_fields(c: CustomerView) -> list[tuple[str, str]]:
    """(label, value) of every known field, in the order people read them."""
    first = c.first_name + (" (tomado del nombre)" if c.first_name_derived and c.first_name
                            else "")
    rows = [("Cliente n.º", str(c.id)), ("Nombre", c.name), ("Nombre de pila", first),
            ("Tratamiento", c.form_of_address), ("RUT", c.rut_display), ("Correo", c.email or ""),
            ("Teléfono", c.phone or ""), ("Empresa", c.company), ("Notas", c.notes)]
    return [(label, value) for label, value in rows if value]


def customer_plain(c: CustomerView) -> str:
    return "\n".join(f"{label}: {value}" for label, value in customer_fields(c))


def merge_summary(keep: CustomerView, drop: CustomerView, moved: int) -> str:
    """What a merge will do, for the person to confirm."""
    def who(c: CustomerView) -> str:
        contact = " · ".join(x for x in (c.contact, c.rut_display) if x)
        return f"{c.display} (cliente {c.id}{', ' + contact if contact else ''})"

    tickets = "ningún ticket" if moved == 0 else ("su ticket" if moved == 1
                                                  else f"sus {moved} tickets")
    return (f"¿Fusionar estos clientes?\nSe conserva: {who(keep)}\n"
            f"Desaparece: {who(drop)}; {tickets} pasa{'n' if moved > 1 else ''} al cliente "
            f"{keep.id} con su mismo número, y su correo, teléfono y RUT completan los que "
            "falten. No se puede deshacer.")


def change_line(field: str, old: str, new: str, author: str, when: str) -> str:
    return f"{when} · {author}: {field}: {old or '—'} → {new or '—'}"
