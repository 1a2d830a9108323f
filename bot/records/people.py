"""Finding the person a data request is about, and every personal value we hold of them.

One lookup for every door (CLI, Telegram): by email, phone, or RUT. The RUT is used
only when the customer model has a ``rut`` field, so this works before and after that
field exists; extend ``find_person`` when more identifiers appear.
"""

from __future__ import annotations

import re

from bot.people.customers import normalise_email, normalise_phone
from bot.process.errors import CustomerNotFound, InvalidInput
from bot.process.rut import normalise_rut
from db.models import Customer

# 12.345.678-5, 12345678-5, 9.876.543-K: the dash before the check digit tells a RUT
# from a phone number.
_RUT = re.compile(r"^\d{1,2}(?:\.?\d{3}){2}-[\dkK]$")


def rut_candidates(ref: str) -> list[str]:
    """The written forms a RUT may be stored in (with and without dots and dash)."""
    body = ref.replace(".", "").replace("-", "").upper()
    number, check = body[:-1], body[-1]
    with_dots = f"{int(number):,}".replace(",", ".")
    return list(dict.fromkeys([f"{number}-{check}", body, f"{with_dots}-{check}"]))


async def find_person(ref: str, region: str = "CL") -> Customer:
    """The customer an email, phone or RUT names; ``CustomerNotFound`` otherwise."""
    ref = ref.strip()
    if not ref or len(ref) > 254:
        raise InvalidInput("Indique el correo, el teléfono o el RUT del cliente.")
    found: Customer | None
    if "@" in ref:
        found = await Customer.get_or_none(email=normalise_email(ref))
    elif _RUT.match(ref):
        found = await Customer.get_or_none(rut=normalise_rut(ref))
    else:
        found = await Customer.get_or_none(phone=normalise_phone(ref, region))
    if found is None:
        raise CustomerNotFound(ref)
    return found


def personal_values(customer: Customer) -> list[str]:
    """The strings that identify the person, as they may appear in free text.

    A one-word name shorter than five letters is left out of free-text sweeps (it
    would erase other people's words); it is still replaced in the person's own rows.
    """
    values: list[str] = []
    if customer.email:
        values.append(customer.email)
    if customer.phone:
        values += [customer.phone, customer.phone.lstrip("+")]
        if customer.phone.startswith("+56") and len(customer.phone) > 4:
            values.append(customer.phone[3:])  # the national form people type
    rut = getattr(customer, "rut", None)
    if rut:
        values += rut_candidates(str(rut)) if _RUT.match(str(rut)) else [str(rut)]
    name = (customer.name or "").strip()
    if name and (" " in name or len(name) >= 5):
        values.append(name)
    return [v for v in dict.fromkeys(values) if v]


def scrub_text(text: str, values: list[str], placeholder: str = "[dato anonimizado]") -> str:
    """``text`` with every personal value (any case) replaced."""
    for value in sorted(values, key=len, reverse=True):
        text = re.sub(re.escape(value), placeholder, text, flags=re.IGNORECASE)
    return text
