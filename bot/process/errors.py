"""Domain errors. Their message is plain Spanish that every front end shows as it is."""

from __future__ import annotations


class DomainError(Exception):
    """Something the user asked cannot be done. ``str(error)`` is the Spanish message."""


class NotFound(DomainError):
    """An unknown ticket, customer or team member."""


class TicketNotFound(NotFound):
    def __init__(self, number: int) -> None:
        super().__init__(f"No existe el ticket #{number}.")
        self.number = number


class CustomerNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No encontré ningún cliente con «{ref}».")


class MemberNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No hay ningún miembro activo del equipo con «{ref}».")


class NotAllowed(DomainError):
    """The person is not on the team, or their role may not do this."""


class InvalidTransition(DomainError):
    """The ticket's Estado does not allow this operation."""


class InvalidInput(DomainError):
    """A value the user typed is not acceptable (bad email, empty reason, ...)."""


class StaleAction(DomainError):
    """The ticket changed since the button was drawn; the caller shows the fresh state."""

    def __init__(self, number: int) -> None:
        super().__init__(
            f"El ticket #{number} cambió mientras tanto; le muestro su estado actual."
        )
        self.number = number
