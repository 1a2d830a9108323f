"""Chilean RUT (*Rol Único Tributario*): check digit, normal form, display form.

People type a RUT as "12.345.678-5", "12345678-5" or "123456785"; we store one normal
form ("12345678-5", check digit "K" upper-case) so the same RUT is always the same
string, and the database's unique index can say it belongs to one customer only.
"""

from __future__ import annotations

import re

from bot.process.errors import InvalidInput

# The body has 1 to 9 digits (companies reach 99.999.999; leave room), no leading zero.
_SHAPE = re.compile(r"^(\d{1,9})-?([\dK])$")
_NOISE = re.compile(r"[.\s]")


def check_digit(body: str) -> str:
    """The module-11 check digit of a RUT body: "0"-"9" or "K"."""
    total, factor = 0, 2
    for digit in reversed(body):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    rest = 11 - total % 11
    return {11: "0", 10: "K"}.get(rest, str(rest))


def normalise_rut(raw: str) -> str:
    """``"12.345.678-5"`` / ``"12345678-5"`` / ``"123456785"`` -> ``"12345678-5"``;
    InvalidInput (Spanish, for the person who typed it) if it is not a valid RUT."""
    text = _NOISE.sub("", raw.strip()).upper().replace("‐", "-").replace("–", "-")
    match = _SHAPE.match(text)
    if match is None:
        raise InvalidInput(f"«{raw.strip()[:40]}» no es un RUT: escríbalo como 12.345.678-5.")
    body, digit = match.group(1).lstrip("0"), match.group(2)
    if not body:
        raise InvalidInput(f"«{raw.strip()[:40]}» no es un RUT válido.")
    if check_digit(body) != digit:
        raise InvalidInput(f"El RUT «{raw.strip()[:40]}» no es válido: el dígito verificador "
                           "no corresponde.")
    return f"{body}-{digit}"


def format_rut(rut: str) -> str:
    """A stored RUT as Chileans read it: ``"12345678-5"`` -> ``"12.345.678-5"``."""
    body, _, digit = rut.partition("-")
    groups: list[str] = []
    while body:
        groups.insert(0, body[-3:])
        body = body[:-3]
    return ".".join(groups) + f"-{digit}"
