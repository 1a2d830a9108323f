"""Message-id headers written as ids, whatever their length.

The email package folds ``In-Reply-To`` and ``References`` like free text: a token
longer than a line (Outlook/Exchange ids run to 80-90 characters) becomes an RFC 2047
encoded-word, which RFC 2047 §5 forbids in a msg-id, and the customer's mail client no
longer threads our reply. These headers are folded between ids instead (RFC 5322
§3.6.4), never inside one; a line may grow to 998 characters for one very long id.
"""

from __future__ import annotations

from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any, cast

_FOLD_AT = 78
_ID_HEADERS = ("message-id", "in-reply-to", "references")


class MsgIdListHeader(UnstructuredHeader):
    """A header whose value is a space-separated list of ``<id@host>``."""

    max_count = 1
    name: str  # set by the registry's header class, which mixes BaseHeader in

    def fold(self, *, policy: Any) -> str:
        eol = policy.linesep
        lines, line = [], f"{self.name}:"
        for ident in str(self).split():
            if len(line) + 1 + len(ident) > _FOLD_AT and line != f"{self.name}:":
                lines.append(line)
                line = ""
            line += f" {ident}"
        lines.append(line)
        return eol.join(lines) + eol


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    for name in _ID_HEADERS:
        registry.map_to_type(name, cast("type[BaseHeader]", MsgIdListHeader))
    return registry


#: The SMTP policy (CRLF, 78-column folding) with ids folded as ids.
SMTP_IDS: EmailPolicy[EmailMessage] = email_policy.SMTP.clone(header_factory=_registry())
