"""Front ends: translate chat and channel events into core calls, results into messages.

Handlers call ``bot`` services and render their plain views; they never import ``db``
or Tortoise (see docs/architecture.md).
"""
