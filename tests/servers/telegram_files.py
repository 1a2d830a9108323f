"""Files the fake Telegram serves: uploads, ``attach://`` parts, file_ids, downloads.

Uploaded bytes are kept so ``getFile`` plus the ``/file/bot<token>/<path>`` URL give
them back, and a file_id sent again is reused, like Telegram does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._httpfake import UploadedFile


@dataclass
class StoredFile:
    """A file the fake can serve through getFile and the file URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str | None = None

    def as_file(self) -> dict[str, Any]:
        """The Bot API ``File`` object (getFile's result)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }

    def as_media(self, kind: str) -> Any:
        """The message field for ``kind``: PhotoSize list for photos, else a Document."""
        base = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if kind == "photo":
            return [{**base, "width": 90, "height": 90}, {**base, "width": 800, "height": 600}]
        return {
            **base,
            "file_name": self.file_path.rsplit("/", 1)[-1],
            "mime_type": self.mime_type or "application/octet-stream",
        }


class FileStore(dict[str, StoredFile]):
    """file_id -> StoredFile, with the ways a send method can name a file."""

    def add(
        self, data: bytes, *, file_path: str | None = None, mime_type: str | None = None
    ) -> StoredFile:
        number = len(self) + 1
        file_id = f"FILE{number:06d}"
        path = file_path or f"documents/file_{number}.bin"
        self[file_id] = StoredFile(file_id, f"U{number:06d}", path, data, mime_type)
        return self[file_id]

    def by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.values() if f.file_path == path), None)

    def resolve(self, value: Any, uploads: dict[str, UploadedFile], kind: str) -> StoredFile:
        """A media parameter: an upload, ``attach://<part>``, a known file_id, or a URL
        (stored empty: the fake does not fetch it)."""
        upload = value if isinstance(value, UploadedFile) else None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
        if upload is None and isinstance(value, str) and value in self:
            return self[value]
        name = (upload.filename if upload else None) or f"file_{len(self) + 1}"
        return self.add(
            upload.data if upload else b"",
            file_path=f"{kind}s/{name}",
            mime_type=upload.content_type if upload else None,
        )
