"""A thin httpx client for the few WhatsApp Cloud API (Graph) calls Atiende makes.

Why not pywa: it rewrites its session's base URL to Meta's host (our fake Graph and any
proxy need ``ATIENDE_WHATSAPP_API_URL``) and is strict on payload shapes, while we need
five calls and full control of error classification for the outbox's retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# Graph error codes that mean "later may work": throughput, pair rate, temporary errors.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 80007, 130429, 131000, 131016, 131048, 131056,
                             133004})
# Access token problems: a configuration error that a fixed token cures, so keep retrying.
AUTH_CODES = frozenset({0, 190})


class GraphError(Exception):
    """Graph answered with an error (or not at all); ``transient`` says whether to retry."""

    def __init__(self, status: int, code: int | None, message: str,
                 retry_after: float | None = None, ambiguous: bool = False) -> None:
        super().__init__(f"Graph {status} (#{code}): {message}" if code is not None
                         else f"Graph {status}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        # The request left but no answer came: Graph may have sent the message.
        self.ambiguous = ambiguous

    @property
    def transient(self) -> bool:
        if self.status == 0 or self.status == 429 or self.status >= 500:
            return True
        if self.status == 401 or self.code in AUTH_CODES:
            return True
        return self.code in TRANSIENT_CODES


@dataclass(frozen=True)
class MediaInfo:
    url: str
    mime_type: str
    file_size: int | None
    sha256: str


class MediaTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


class GraphClient:
    """Graph calls for one business phone number; one pooled HTTP client."""

    def __init__(self, api_url: str, phone_number_id: str, token: str,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self._base = api_url.rstrip("/")
        self._phone_number_id = phone_number_id
        self._http = httpx.AsyncClient(
            timeout=timeout, headers={"Authorization": f"Bearer {token}"},
            follow_redirects=True)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- sending ---------------------------------------------------------------------
    async def send_text(self, to: str, body: str, *, reference: str = "") -> str:
        return await self._send(to, "text", {"body": body, "preview_url": False}, reference)

    async def send_template(self, to: str, name: str, language: str,
                            params: tuple[str, ...] = (), *, reference: str = "",
                            quick_replies: tuple[str, ...] = ()) -> str:
        """An approved template: body parameters in order, and the payloads of its
        quick-reply buttons (index 0, 1, ...), which come back when the customer taps."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        components: list[dict[str, Any]] = []
        if params:
            components.append({"type": "body", "parameters": [
                {"type": "text", "text": template_parameter(p)} for p in params]})
        for index, payload in enumerate(quick_replies):
            components.append({"type": "button", "sub_type": "quick_reply",
                               "index": str(index),
                               "parameters": [{"type": "payload", "payload": payload}]})
        if components:
            template["components"] = components
        return await self._send(to, "template", template, reference)

    async def send_buttons(self, to: str, body: str, buttons: list[tuple[str, str]], *,
                           reference: str = "") -> str:
        """Interactive reply buttons (at most 3; ids <= 256 chars, titles <= 20)."""
        interactive = {
            "type": "button", "body": {"text": body},
            "action": {"buttons": [{"type": "reply", "reply": {"id": bid, "title": title}}
                                   for bid, title in buttons]},
        }
        return await self._send(to, "interactive", interactive, reference)

    async def send_list(self, to: str, body: str, button: str, rows: list[tuple[str, str]], *,
                        reference: str = "") -> str:
        """An interactive list (one section, at most 10 rows; titles <= 24 chars)."""
        interactive = {
            "type": "list", "body": {"text": body},
            "action": {"button": button[:20], "sections": [{"title": button[:24], "rows": [
                {"id": rid, "title": title[:24]} for rid, title in rows[:10]]}]},
        }
        return await self._send(to, "interactive", interactive, reference)

    async def _send(self, to: str, kind: str, content: dict[str, Any], reference: str) -> str:
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type":
                                   "individual", "to": to, "type": kind, kind: content}
        if reference:  # echoed in status webhooks: ties a status to our interaction
            payload["biz_opaque_callback_data"] = reference
        data = await self._request("POST", f"{self._base}/{self._phone_number_id}/messages",
                                   json=payload)
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise GraphError(200, None, "answer without a message id") from None

    # --- media -----------------------------------------------------------------------
    async def media_info(self, media_id: str) -> MediaInfo:
        data = await self._request("GET", f"{self._base}/{media_id}")
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            raise GraphError(200, None, "media answer without a url")
        size = data.get("file_size")
        return MediaInfo(url=url, mime_type=str(data.get("mime_type") or ""),
                         file_size=int(size) if isinstance(size, int | str) and
                         str(size).isdigit() else None,
                         sha256=str(data.get("sha256") or ""))

    async def download(self, url: str, max_bytes: int) -> bytes:
        """The media's bytes (with the Bearer token); MediaTooLarge past ``max_bytes``."""
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _error_from(response)
                chunks: list[bytes] = []
                total = 0
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise MediaTooLarge(total)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise GraphError(0, None, f"{type(exc).__name__}: {exc}") from None

    # --- plumbing --------------------------------------------------------------------
    async def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached Graph: safe to retry later.
            raise GraphError(0, None, f"{type(exc).__name__}: {exc}") from None
        except httpx.HTTPError as exc:  # read timeout, reset mid-answer: outcome unknown
            raise GraphError(0, None, f"{type(exc).__name__}: {exc}",
                             ambiguous=True) from None
        if response.status_code >= 400:
            raise _error_from(response)
        try:
            return response.json()
        except ValueError:
            raise GraphError(response.status_code, None, "answer is not JSON") from None


def _error_from(response: httpx.Response) -> GraphError:
    code: int | None = None
    message = response.reason_phrase or "error"
    try:
        error = response.json().get("error", {})
        if isinstance(error, dict):
            code = int(error["code"]) if isinstance(error.get("code"), int) else None
            message = str(error.get("message") or message)
    except (ValueError, AttributeError):
        pass
    retry_after = None
    header = response.headers.get("Retry-After")
    if header and header.isdigit():
        retry_after = float(header)
    return GraphError(response.status_code, code, message, retry_after)


def template_parameter(value: str) -> str:
    """A template's text parameter as Meta accepts it: no newline or tab and never more
    than four spaces in a row (#132018), never empty. WhatsApp profile names and typed
    values carry all three."""
    return " ".join(value.split()) or "-"
