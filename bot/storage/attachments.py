"""Where customer files are kept: content-addressed under ``ATIENDE_DATA_DIR``.

Channel adapters hand over bytes; the store writes each file once (by sha256) and
returns the metadata the ticket history records. A file over the size limit is not
kept, but its name and size are, so the message still lands.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from bot.process.views import ARCHIVAL_NOTE

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)



@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    stored_path: str | None
    note: str = ""


# File systems limit a name to 255 *bytes*; the stored name adds a 63-byte digest prefix
# and a temporary suffix, and a CJK character takes 3 bytes in UTF-8.
MAX_NAME_BYTES = 150
MAX_EXTENSION_BYTES = 16


def safe_filename(name: str | None, default: str = "adjunto") -> str:
    """A file name that is safe on disk and still readable by a person: cut by UTF-8
    bytes (not characters), keeping the extension."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = _UNSAFE.sub("_", base).strip("._ ")
    return _fit_bytes(base or default, MAX_NAME_BYTES)


def _fit_bytes(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(("." + ext).encode("utf-8")) > MAX_EXTENSION_BYTES:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = limit - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip("._ ")
    return (cut or "adjunto") + suffix


class AttachmentStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self._root = root
        self._max = max_bytes
        # Digest folders known to exist: one ``mkdir`` per folder and process, not per
        # file (an import stores one original per mail). A folder removed meanwhile is
        # made again when the write finds it missing.
        self._folders: set[str] = set()

    def store(self, data: bytes, filename: str | None, content_type: str, *,
              archival: bool = False) -> NewAttachment:
        """Keep ``data``; ``archival`` files are for the record and never shown in chat."""
        name = safe_filename(filename)
        digest = hashlib.sha256(data).hexdigest()
        prefix = ARCHIVAL_NOTE + " " if archival else ""
        if len(data) > self._max:
            return NewAttachment(name, content_type, len(data), digest, None,
                                 note=prefix + f"No se guardó: {len(data):,} bytes supera el "
                                      f"máximo de {self._max:,} bytes.".replace(",", "."))
        folder = self._root / digest[:2]
        path = folder / f"{digest[2:]}-{name}"
        if not path.exists():
            tmp = path.with_suffix(path.suffix + ".tmp")
            if digest[:2] not in self._folders:
                folder.mkdir(parents=True, exist_ok=True)
                self._folders.add(digest[:2])
            try:
                tmp.write_bytes(data)
            except FileNotFoundError:  # the folder went away since
                folder.mkdir(parents=True, exist_ok=True)
                tmp.write_bytes(data)
            os.replace(tmp, path)  # atomic: a crash never leaves half a file under its name
        return NewAttachment(name, content_type, len(data), digest, str(path),
                             note=prefix.strip())

    def read(self, stored_path: str) -> bytes:
        path = Path(stored_path)
        if self._root.resolve() not in path.resolve().parents:
            raise ValueError("attachment path outside the store")
        return path.read_bytes()
