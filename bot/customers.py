"""Customers (*Clientes*): found or created from an email address or a phone number."""

from __future__ import annotations

from email.utils import parseaddr

import phonenumbers
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from bot.clock import Clock
from bot.errors import CustomerNotFound, InvalidInput
from bot.nocodb import queue as nocodb_queue
from bot.views import CustomerView
from db.models import Customer

DEFAULT_PHONE_REGION = "CL"


def normalise_email(raw: str) -> str:
    """``"Ana <ANA@Example.CL>"`` -> ``"ana@example.cl"``; InvalidInput if it is not one."""
    _, address = parseaddr(raw.strip())
    address = address.strip().lower()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or " " in address or domain.startswith("."):
        raise InvalidInput(f"«{raw}» no es una dirección de correo válida.")
    return address


def normalise_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """Any written form of a phone number -> E.164 (``+56912345678``)."""
    text = raw.strip()
    if text.isdigit() and len(text) > 9:  # WhatsApp ids: country code without "+"
        text = f"+{text}"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"«{raw}» no es un número de teléfono válido.") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"«{raw}» no es un número de teléfono válido.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def customer_view(customer: Customer) -> CustomerView:
    return CustomerView(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        company=customer.company,
        notes=customer.notes,
    )


class CustomerService:
    """Looks customers up and creates them; email and phone are unique when set."""

    def __init__(self, clock: Clock, phone_region: str = DEFAULT_PHONE_REGION,
                 sync_nocodb: bool = False) -> None:
        self._clock = clock
        self._region = phone_region
        self._sync = sync_nocodb  # queue every change for NocoDB (issue 12)

    async def find_or_create(
        self, *, email: str | None = None, phone: str | None = None, name: str = ""
    ) -> CustomerView:
        return customer_view(await self.find_or_create_model(email=email, phone=phone, name=name))

    async def find_or_create_model(
        self, *, email: str | None = None, phone: str | None = None, name: str = ""
    ) -> Customer:
        """The customer with this email or phone, created if new (race-safe)."""
        if not email and not phone:
            raise InvalidInput("Indique el correo o el teléfono del cliente.")
        norm_email = normalise_email(email) if email else None
        norm_phone = normalise_phone(phone, self._region) if phone else None
        existing = await self._lookup(norm_email, norm_phone)
        if existing is not None:
            return await self._complete(existing, norm_email, norm_phone, name)
        try:
            created = await Customer.create(
                name=name.strip()[:200],
                email=norm_email,
                phone=norm_phone,
                created_at=self._clock.now(),
            )
            await nocodb_queue.changed(self._sync, "cliente", created.id, created.created_at)
            return created
        except IntegrityError:  # created concurrently by another delivery
            found = await self._lookup(norm_email, norm_phone)
            if found is None:
                raise
            return found

    async def _lookup(self, email: str | None, phone: str | None) -> Customer | None:
        if email:
            found = await Customer.get_or_none(email=email)
            if found:
                return found
        if phone:
            return await Customer.get_or_none(phone=phone)
        return None

    async def _complete(
        self, customer: Customer, email: str | None, phone: str | None, name: str
    ) -> Customer:
        """Fill in what we learn about a known customer, never overwriting data."""
        changed = []
        if name and not customer.name:
            customer.name = name.strip()[:200]
            changed.append("name")
        if email and not customer.email and not await Customer.exists(email=email):
            customer.email = email
            changed.append("email")
        if phone and not customer.phone and not await Customer.exists(phone=phone):
            customer.phone = phone
            changed.append("phone")
        if changed:
            await customer.save(update_fields=changed)
            await nocodb_queue.changed(self._sync, "cliente", customer.id, self._clock.now())
        return customer

    async def get(self, customer_id: int) -> CustomerView:
        customer = await Customer.get_or_none(id=customer_id)
        if customer is None:
            raise CustomerNotFound(str(customer_id))
        return customer_view(customer)

    async def find(self, ref: str) -> CustomerView:
        """By exact email or phone (as ``/cliente`` takes it), else by a unique name match."""
        ref = ref.strip()
        if "@" in ref:
            found = await Customer.get_or_none(email=normalise_email(ref))
        elif any(ch.isdigit() for ch in ref):
            found = await Customer.get_or_none(phone=normalise_phone(ref, self._region))
        else:
            matches = await Customer.filter(name__icontains=ref).limit(2)
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise CustomerNotFound(ref)
        return customer_view(found)

    async def search(self, text: str, limit: int = 10) -> list[CustomerView]:
        """Customers whose name, email, phone or company contains ``text``."""
        text = text.strip()
        if not text:
            return []
        query = (
            Q(name__icontains=text)
            | Q(email__icontains=text.lower())
            | Q(phone__contains=text.replace(" ", ""))
            | Q(company__icontains=text)
        )
        found = await Customer.filter(query).order_by("name").limit(limit)
        return [customer_view(c) for c in found]

    async def update(self, customer_id: int, *, name: str | None = None,
                     company: str | None = None, notes: str | None = None) -> CustomerView:
        customer = await Customer.get_or_none(id=customer_id)
        if customer is None:
            raise CustomerNotFound(str(customer_id))
        for attr, value in (("name", name), ("company", company), ("notes", notes)):
            if value is not None:
                setattr(customer, attr, value.strip())
        await customer.save()
        await nocodb_queue.changed(self._sync, "cliente", customer.id, self._clock.now())
        return customer_view(customer)
