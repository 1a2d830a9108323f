"""Sign requests the way Slack does, so tests go through bolt's real signature check."""

from __future__ import annotations

import hashlib
import hmac
import time

from slack_sdk.signature import SignatureVerifier


def signed_headers(
    secret: str, body: bytes, timestamp: int | None = None, *, content_type: str | None = None
) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` for ``body``.

    ``timestamp`` defaults to now; pass an old one (over 5 minutes) to test that the app
    answers 401. ``content_type`` defaults to the form encoding Slack uses for
    interactions and commands; pass ``"application/json"`` for Events API bodies.
    A body that is not UTF-8 is still signed (to test the app's 400/401 path).
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    try:
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    except UnicodeDecodeError:  # slack-sdk decodes the body; Slack signs raw bytes
        digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
        signature = "v0=" + digest.hexdigest()
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type or "application/x-www-form-urlencoded",
    }
