"""NocoDB sync (issue 12): the company's Clientes, Tickets and Interacciones tables.

``queue`` records changes in the caller's transaction; ``push`` drains them into the
base; ``pull`` brings the company's edits back; ``schema`` sets up and checks the
base; ``importer`` brings an existing base into Atiende. The HTTP client is passed in
(``api.NocoApi``; the httpx one lives in ``handlers/nocodb``).
"""
