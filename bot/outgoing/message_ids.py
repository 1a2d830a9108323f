"""Our outgoing Message-IDs carry an HMAC, so an id we never issued is recognised.

A bounce or a reply names the message it is about. If our ids were predictable
(``<atiende-12@empresa.cl>``) anyone could forge a bounce that marks our reply failed,
or a reply that threads into someone's ticket. With ``<atiende-12.<hmac>@empresa.cl>``
only ids we really sent verify. The key comes from ``ATIENDE_MESSAGE_ID_SECRET`` or is
generated on the first run and kept in the database (the key-value store), so every
process of one installation signs and verifies alike.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from bot.process.settings import Settings
from bot.storage.kv import KeyValueStore

NAMESPACE = "security"
KEY = "message_id_secret"
DIGEST_CHARS = 16
_OURS = re.compile(r"^<(atiende-[A-Za-z0-9.\-]+?)\.([0-9a-f]+)@([^<>@\s]+)>$")


class MessageIdSigner:
    """Signs and verifies our Message-IDs with the installation's secret."""

    def __init__(self, settings: Settings, kv: KeyValueStore) -> None:
        self._configured = settings.message_id_secret
        self._kv = kv
        self._secret: bytes | None = None

    async def secret(self) -> bytes:
        if self._secret is None:
            value = self._configured
            if not value:
                await self._kv.add_if_absent(NAMESPACE, KEY, {"secret": secrets.token_hex(32)})
                value = str((await self._kv.get(NAMESPACE, KEY))["secret"])
            self._secret = value.encode()
        return self._secret

    async def make(self, idempotency_key: str, domain: str) -> str:
        """Stable for one outbox row (a resend carries the same id), unforgeable."""
        key = re.sub(r"[^A-Za-z0-9.\-]", "-", idempotency_key)
        if not key.startswith("atiende-"):
            key = f"atiende-{key}"
        return f"<{key}.{_digest(await self.secret(), key, domain.lower())}@{domain.lower()}>"

    async def verify(self, message_id: str) -> bool:
        """True for an id we issued; False for anything else, forged or foreign."""
        found = _OURS.match(message_id.strip())
        if found is None:
            return False
        key, digest, domain = found.groups()
        expected = _digest(await self.secret(), key, domain.lower())
        return hmac.compare_digest(digest, expected)

    @staticmethod
    def looks_ours(message_id: str, domain: str | None) -> bool:
        """Shaped like our ids on our domain (whether or not it verifies)."""
        found = _OURS.match(message_id.strip())
        return found is not None and (domain is None or found.group(3).lower() == domain)


def _digest(secret: bytes, key: str, domain: str) -> str:
    return hmac.new(secret, f"{key}|{domain}".encode(), hashlib.sha256).hexdigest()[:DIGEST_CHARS]
