"""Persistence: Tortoise ORM models, the connection, committed migrations."""
