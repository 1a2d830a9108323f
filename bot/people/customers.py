"""Customers (*Clientes*): found or created from an email address or a phone number,
looked up by id, email, phone, RUT or name; edits and merges live in
``bot/people/customer_changes.py`` (they record who changed what)."""

from __future__ import annotations

import logging
from email.utils import parseaddr
from functools import lru_cache

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from bot.process.clock import Clock
from bot.process.domain import InteractionKind
from bot.process.errors import CustomerNotFound, InvalidInput, NotAllowed
from bot.process.events import EventBus
from bot.process.rut import normalise_rut
from bot.process.views import Actor, CustomerChangeView, CustomerView
from bot.storage import nocodb_queue as nocodb_queue
from bot.storage.inserts import insert
from bot.storage.prepared import PreparedSelect
from bot.storage.presenters import customer_view
from db.models import Customer, CustomerContact, Interaction, Ticket

log = logging.getLogger(__name__)

DEFAULT_PHONE_REGION = "CL"


@lru_cache(maxsize=4096)
def normalise_email(raw: str) -> str:
    """``"Ana <ANA@Example.CL>"`` -> ``"ana@example.cl"``; InvalidInput if it is not one.
    Remembered, like phones: a sender's address is read at several steps of a mail."""
    _, address = parseaddr(raw.strip())
    address = address.strip().lower()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or " " in address or domain.startswith("."):
        raise InvalidInput(f"«{raw}» no es una dirección de correo válida.")
    return address


@lru_cache(maxsize=4096)
def normalise_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """Any written form of a phone number -> E.164 (``+56912345678``). Remembered: the
    same sender's number is read at every step of a message (and phonenumbers is slow).
    Imported on the first number: a process that reads no phone (a mail import) skips it."""
    import phonenumbers

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


def _valid_rut(ref: str) -> bool:
    try:
        normalise_rut(ref)
    except InvalidInput:
        return False
    return True


def _valid_phone(ref: str, region: str) -> bool:
    try:
        normalise_phone(ref, region)
    except InvalidInput:
        return False
    return True


def looks_like_rut(ref: str) -> bool:
    """Written the way RUTs are ("12.345.678-5", "1234567-K"), not like a phone."""
    text = ref.strip().upper()
    return bool(text) and ("-" in text or text.endswith("K") or text.count(".") == 2) \
        and "+" not in text and " " not in text


async def _matching(email: str | None, phone: str | None, values: list[str]) -> list[Customer]:
    match = Q(contacts__value__in=values)
    if email:
        match |= Q(email=email)
    if phone:
        match |= Q(phone=phone)
    return await Customer.filter(match).distinct().order_by("id").limit(10)


_BY_PHONE = PreparedSelect(
    Customer, lambda phone, contact: Customer.filter(
        Q(contacts__value__in=[contact]) | Q(phone=phone)).distinct().order_by("id").limit(10),
    ["probe-phone", "probe-contact"])


class CustomerService:
    """Looks customers up and creates them; email and phone are unique when set."""

    def __init__(self, clock: Clock, phone_region: str = DEFAULT_PHONE_REGION,
                 bus: EventBus | None = None, sync_nocodb: bool = False) -> None:
        self._clock = clock
        self._region = phone_region
        self._bus = bus  # to redraw the cards of tickets whose customer changed
        self._sync = sync_nocodb  # queue every change for NocoDB (issue 12)

    async def find_or_create(
        self, *, email: str | None = None, phone: str | None = None, name: str = ""
    ) -> CustomerView:
        return customer_view(await self.find_or_create_model(email=email, phone=phone, name=name))

    async def find_or_create_model(
        self, *, email: str | None = None, phone: str | None = None, name: str = "",
        known: Customer | None = None, looked_up: bool = False,
    ) -> Customer:
        """The customer with this email or phone, created if new (race-safe). ``known``:
        the customer the caller already found by this email or phone (not looked up);
        ``looked_up``: the caller has asked, and ``known`` is the whole answer (None:
        nobody has it, so it is created without asking again)."""
        if not email and not phone:
            raise InvalidInput("Indique el correo o el teléfono del cliente.")
        norm_email = normalise_email(email) if email else None
        norm_phone = normalise_phone(phone, self._region) if phone else None
        existing = known
        if existing is None and not looked_up:
            existing = await self._lookup(norm_email, norm_phone)
        if existing is not None:
            return await self._complete(existing, norm_email, norm_phone, name)
        try:
            created = await insert(
                Customer, name=name.strip()[:200],
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
        """By email, else by phone, else by a linked contact: one query for all three
        (a phone alone, every WhatsApp message's case, with its SQL built once)."""
        values = [v for v in (email, phone) if v]
        if not values:
            return None
        if phone and not email:
            found = await _BY_PHONE.all(phone, phone)
        else:
            found = await _matching(email, phone, values)
        for wanted in (lambda c: email and c.email == email,
                       lambda c: phone and c.phone == phone):
            for customer in found:
                if wanted(customer):
                    return customer
        return found[0] if found else None

    async def link_third_party(self, actor: Actor, interaction_id: int) -> tuple[CustomerView, str]:
        """"Es del cliente": the sender of a third-party message speaks for the ticket's
        customer from now on. Returns the customer and the linked address/phone."""
        if actor.member is None:
            raise NotAllowed("Solo los miembros del equipo pueden vincular contactos.")
        row = await Interaction.get_or_none(id=interaction_id).select_related("ticket")
        if row is None or row.kind != InteractionKind.THIRD_PARTY:
            raise InvalidInput("Ese mensaje no es de un tercero.")
        sender = str((row.meta or {}).get("sender") or "")
        if not sender:
            raise InvalidInput("No se conoce la dirección ni el teléfono de ese remitente.")
        view = await self.add_contact(row.ticket.customer_id, sender)
        log.info("third-party sender linked by=%s customer=%s interaction=%s", actor.name,
                 view.id, interaction_id)
        return view, sender

    async def add_contact(self, customer_id: int, value: str) -> CustomerView:
        """Link another address or phone to a customer: from then on it speaks for them
        (a message from it threads as the customer's, not as a third party's)."""
        customer = await Customer.get_or_none(id=customer_id)
        if customer is None:
            raise CustomerNotFound(str(customer_id))
        kind = "email" if "@" in value else "phone"
        norm = normalise_email(value) if kind == "email" else normalise_phone(value, self._region)
        if norm in (customer.email, customer.phone):
            return customer_view(customer)
        existing = await CustomerContact.get_or_none(value=norm)
        if existing is not None and existing.customer_id != customer_id:
            await CustomerContact.filter(id=existing.id).update(customer_id=customer_id)
        elif existing is None:
            try:
                await CustomerContact.create(customer=customer, kind=kind, value=norm,
                                             created_at=self._clock.now())
            except IntegrityError:  # linked concurrently: same result
                pass
        log.info("contact linked customer=%s kind=%s", customer_id, kind)
        return customer_view(customer)

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
        """By id ("12"), exact email, phone or RUT (as ``/cliente`` takes them), else by a
        unique name match."""
        return customer_view(await self.find_model(ref))

    async def find_model(self, ref: str) -> Customer:
        ref = ref.strip()
        found: Customer | None = None
        if not ref:
            raise InvalidInput("Indique el cliente: su número, correo, teléfono o RUT.")
        if ref.lstrip("#").isdigit() and len(ref.lstrip("#")) <= 7:  # phones are longer
            found = await Customer.get_or_none(id=int(ref.lstrip("#")))
        elif "@" in ref:
            found = await Customer.get_or_none(email=normalise_email(ref))
        elif looks_like_rut(ref) and _valid_rut(ref):
            found = await Customer.get_or_none(rut=normalise_rut(ref))
        elif looks_like_rut(ref) and ("." in ref or ref.upper().endswith("K")
                                      or not _valid_phone(ref, self._region)):
            normalise_rut(ref)  # written as a RUT, and not a valid one: raises and says why
        elif any(ch.isdigit() for ch in ref):
            found = await Customer.get_or_none(phone=normalise_phone(ref, self._region))
            if found is None and ref.isdigit() and _valid_rut(ref):  # "123456785": a bare RUT
                found = await Customer.get_or_none(rut=normalise_rut(ref))
        else:
            matches = await Customer.filter(name__icontains=ref).limit(2)
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise CustomerNotFound(ref)
        return found

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
            | Q(rut__contains=text.replace(".", "").upper())
        )
        found = await Customer.filter(query).order_by("name").limit(limit)
        return [customer_view(c) for c in found]

    async def update(self, actor: Actor, customer_id: int, **values: str | None) -> CustomerView:
        """Edit a customer (team members only): each changed field is validated, recorded
        (who, old -> new) and shown on the open tickets' cards. ``values`` among
        name, first_name, form_of_address, rut, email, phone, company, notes; None leaves
        a field as it is, "" clears it."""
        from bot.people.customer_changes import edit  # it builds ticket views: import cycle

        return await edit(self, actor, customer_id, values)

    async def merge(self, keep_id: int, drop_id: int, actor: Actor) -> CustomerView:
        """The same person as two customers: ``drop_id``'s tickets move to ``keep_id``
        (numbers kept), its contact data fills ``keep_id``'s empty fields, and it is gone."""
        from bot.people.customer_changes import merge

        return await merge(self, keep_id, drop_id, actor)

    async def changes(self, customer_id: int, limit: int = 10) -> list[CustomerChangeView]:
        """The latest recorded edits and merges of a customer, newest first."""
        from bot.people.customer_changes import recent

        return await recent(customer_id, limit)

    async def ticket_count(self, customer_id: int) -> int:
        """How many tickets a customer has (a merge says how many will move)."""
        return await Ticket.filter(customer_id=customer_id).count()

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def bus(self) -> EventBus | None:
        return self._bus

    @property
    def sync_nocodb(self) -> bool:
        return self._sync

    @property
    def region(self) -> str:
        return self._region
