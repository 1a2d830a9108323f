"""Atiende's domain core: tickets, customers, SLA clock, templates, reminders, outbox.

Nothing in this package imports a chat, mail or web library (except the composition
root ``bot.app.run`` and the ``bot.app.cli`` entry point); see docs/architecture.md.
"""
