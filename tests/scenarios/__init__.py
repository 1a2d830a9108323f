"""The five scenarios of ``shared/scenarios.md``, each end to end across every front end."""
