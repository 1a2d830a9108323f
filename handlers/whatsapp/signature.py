"""Meta's webhook signature: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256>``.

Checked on the raw body before anything in it is parsed or stored, with a
constant-time comparison, so a forged or truncated request changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def expected_signature(app_secret: str, body: bytes) -> str:
    return _PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def is_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """True only for a well-formed header whose HMAC matches; an empty secret never
    matches (an unconfigured app secret must not open the webhook to everyone)."""
    if not app_secret or not header or not header.startswith(_PREFIX):
        return False
    try:
        given = header.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given, expected_signature(app_secret, body).encode("ascii"))
