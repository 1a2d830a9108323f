"""The team: who may act, who is the administrator (the default assignee)."""

from __future__ import annotations

import secrets

from tortoise.transactions import in_transaction

from bot.people.customers import normalise_email
from bot.process.clock import Clock
from bot.process.domain import Rol
from bot.process.errors import InvalidInput, MemberNotFound, NotAllowed
from bot.process.views import MemberView
from bot.storage.prepared import PreparedSelect
from bot.storage.presenters import member_view
from db.models import InviteCode, TeamMember, Ticket

# What a fresh installation calls its administrator until a real one is added: the first
# administrator added takes over this member (its tickets, its id) instead of failing.
PLACEHOLDER_ADMIN_NAME = "Administrador"


class TeamService:
    """Team members, roles, and the links between chat accounts and members."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def add(self, name: str, role: Rol = Rol.AGENT, *, email: str | None = None,
                  telegram_user_id: int | None = None,
                  slack_user_id: str | None = None) -> MemberView:
        """Add a member; a second active administrator is refused (one default assignee).

        The first real administrator takes over the placeholder a fresh installation
        created (``PLACEHOLDER_ADMIN_NAME``, no chat or email linked): same member, so the
        tickets already assigned to it are theirs, with their name and links.
        """
        name = _clean_name(name)
        norm_email = normalise_email(email) if email else None
        async with in_transaction():
            if norm_email and await TeamMember.exists(email=norm_email):
                raise InvalidInput(f"Ya hay un miembro del equipo con el correo {norm_email}.")
            if role is Rol.ADMIN:
                admin = await TeamMember.get_or_none(role=Rol.ADMIN, active=True)
                if admin is not None and not is_placeholder(admin):
                    raise InvalidInput(
                        f"Ya hay un administrador activo ({admin.name}); solo puede haber "
                        "uno. Para traspasar el rol: atiende team set-admin MIEMBRO.")
                if admin is not None:
                    admin.name = name
                    admin.email = norm_email
                    admin.telegram_user_id = telegram_user_id
                    admin.slack_user_id = slack_user_id
                    await admin.save()
                    return member_view(admin)
            member = await TeamMember.create(
                name=name, role=role, email=norm_email, telegram_user_id=telegram_user_id,
                slack_user_id=slack_user_id, created_at=self._clock.now(),
            )
        return member_view(member)

    async def list(self, *, active_only: bool = True) -> list[MemberView]:
        query = TeamMember.filter(active=True) if active_only else TeamMember.all()
        return [member_view(m) for m in await query.order_by("id")]

    async def admin(self) -> MemberView | None:
        member = await TeamMember.get_or_none(role=Rol.ADMIN, active=True)
        return member_view(member) if member else None

    async def get(self, member_id: int) -> MemberView:
        member = await TeamMember.get_or_none(id=member_id, active=True)
        if member is None:
            raise MemberNotFound(str(member_id))
        return member_view(member)

    async def find(self, ref: str) -> MemberView:
        """By id, email, or a unique (case-insensitive) name prefix."""
        ref = ref.strip().lstrip("@")
        member = None
        if ref.isdigit():
            member = await TeamMember.get_or_none(id=int(ref), active=True)
        elif "@" in ref:
            member = await TeamMember.get_or_none(email=ref.lower(), active=True)
        else:
            matches = await TeamMember.filter(active=True, name__istartswith=ref).limit(2)
            member = matches[0] if len(matches) == 1 else None
        if member is None:
            raise MemberNotFound(ref)
        return member_view(member)

    async def by_telegram(self, telegram_user_id: int) -> MemberView | None:
        member = await _BY_TELEGRAM.first(telegram_user_id)  # every Telegram update asks
        return member_view(member) if member else None

    async def by_slack(self, slack_user_id: str) -> MemberView | None:
        member = await TeamMember.get_or_none(slack_user_id=slack_user_id, active=True)
        return member_view(member) if member else None

    async def link_slack_by_email(self, slack_user_id: str, email: str) -> MemberView | None:
        """First action of a Slack user whose email matches an unlinked member: link them."""
        try:
            norm = normalise_email(email)
        except InvalidInput:
            return None
        member = await TeamMember.get_or_none(email=norm, active=True, slack_user_id=None)
        if member is None:
            return None
        member.slack_user_id = slack_user_id
        await member.save(update_fields=["slack_user_id"])
        return member_view(member)

    async def create_invite(self, member_id: int) -> str:
        """A one-time code that links the chat account that presents it to the member."""
        member = await TeamMember.get_or_none(id=member_id, active=True)
        if member is None:
            raise MemberNotFound(str(member_id))
        code = secrets.token_urlsafe(16)
        await InviteCode.create(code=code, member=member, created_at=self._clock.now())
        return code

    async def redeem_invite(self, code: str, telegram_user_id: int) -> MemberView:
        """Link a Telegram account through a one-time code; a used or unknown code fails."""
        async with in_transaction():
            invite = await InviteCode.get_or_none(code=code, used_at=None).select_related(
                "member"
            )
            if invite is None or not invite.member.active:
                raise NotAllowed("Ese enlace de invitación no es válido o ya fue usado.")
            taken = await TeamMember.get_or_none(telegram_user_id=telegram_user_id)
            if taken is not None and taken.id != invite.member.id:
                raise NotAllowed("Esta cuenta de Telegram ya está vinculada a otro miembro.")
            invite.used_at = self._clock.now()
            await invite.save(update_fields=["used_at"])
            invite.member.telegram_user_id = telegram_user_id
            await invite.member.save(update_fields=["telegram_user_id"])
        return member_view(invite.member)

    async def deactivate(self, member_id: int) -> MemberView:
        member = await TeamMember.get_or_none(id=member_id)
        if member is None:
            raise MemberNotFound(str(member_id))
        if member.role == Rol.ADMIN:
            raise NotAllowed("No se puede desactivar al administrador: es el responsable "
                             "por defecto de los tickets. Primero traspase el rol con "
                             "atiende team set-admin MIEMBRO.")
        member.active = False
        await member.save(update_fields=["active"])
        return member_view(member)

    async def rename(self, member_id: int, name: str) -> MemberView:
        """A new display name: what the team sees and what signs customer replies."""
        name = _clean_name(name)
        async with in_transaction():
            member = await TeamMember.get_or_none(id=member_id, active=True)
            if member is None:
                raise MemberNotFound(str(member_id))
            member.name = name
            await member.save(update_fields=["name"])
        return member_view(member)

    async def set_admin(self, member_id: int) -> MemberView:
        """Hand the administrator role to an active member; the previous administrator
        stays on the team as an agent (there is always exactly one administrator)."""
        async with in_transaction():
            member = await TeamMember.get_or_none(id=member_id, active=True)
            if member is None:
                raise MemberNotFound(str(member_id))
            if member.role == Rol.ADMIN:
                return member_view(member)
            previous = await TeamMember.filter(role=Rol.ADMIN, active=True)
            for old in previous:
                if is_placeholder(old):  # nobody: it leaves, its tickets go to the admin
                    old.active = False
                    await Ticket.filter(assignee_id=old.id).update(assignee_id=member.id)
                old.role = Rol.AGENT
                await old.save(update_fields=["role", "active"])
            member.role = Rol.ADMIN
            await member.save(update_fields=["role"])
        return member_view(member)


# Who is asking, for every Telegram update (the access guard): SQL built once.
_BY_TELEGRAM = PreparedSelect(TeamMember, lambda telegram_user_id: TeamMember.filter(
    telegram_user_id=telegram_user_id, active=True).limit(1), [987_654_321_987])


def is_placeholder(member: TeamMember) -> bool:
    """The administrator a fresh installation made up, not yet anyone's."""
    return (member.name == PLACEHOLDER_ADMIN_NAME and member.email is None
            and member.telegram_user_id is None and member.slack_user_id is None)


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("El nombre del miembro del equipo no puede estar vacío.")
    if len(name) > 200:
        raise InvalidInput("El nombre del miembro del equipo es demasiado largo (máx. 200).")
    return name
