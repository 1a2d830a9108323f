"""One archive format for everything this package hands out: a ``.tar.gz`` whose
``manifest.json`` lists every other member with its size and SHA-256.

Why a manifest: a backup restored months later, or a case file handed to a mediator,
must prove it is complete and unaltered; ``verify`` recomputes every checksum and
refuses members the manifest does not list (or that would land outside the target).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

MANIFEST = "manifest.json"
FORMAT = "atiende-archive/1"


class ArchiveError(Exception):
    """The archive is unreadable, incomplete or altered; the message says which."""


@dataclass
class ArchiveWriter:
    """Builds a ``.tar.gz`` next to its final name and renames it when complete, so a
    crash never leaves half an archive under a name that looks finished."""

    path: Path
    kind: str
    info: dict[str, Any] = field(default_factory=dict)
    _entries: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.name + ".part")
        # A .zip for people (a mediator opens it anywhere), a .tar.gz for backups.
        self._zip = zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_DEFLATED) \
            if self.path.suffix == ".zip" else None
        self._tar = None if self._zip else tarfile.open(self._tmp, "w:gz")

    def add_bytes(self, name: str, data: bytes) -> None:
        self._check_name(name)
        if self._zip is not None:
            self._zip.writestr(name, data)
            self._entries.append({"path": name, "size": len(data),
                                  "sha256": hashlib.sha256(data).hexdigest()})
            return
        assert self._tar is not None
        member = tarfile.TarInfo(name)
        member.size = len(data)
        member.mode = 0o600
        self._tar.addfile(member, io.BytesIO(data))
        self._entries.append({"path": name, "size": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()})

    def add_file(self, name: str, source: Path) -> None:
        """Stream a file in, hashing it on the way (attachments may be large)."""
        self._check_name(name)
        if self._zip is not None:
            self._zip.write(source, name)
            digest_hex, size = _digest(source.open("rb"))
            self._entries.append({"path": name, "size": size, "sha256": digest_hex})
            return
        assert self._tar is not None
        digest = hashlib.sha256()
        size = source.stat().st_size
        member = tarfile.TarInfo(name)
        member.size = size
        member.mode = 0o600
        with source.open("rb") as fh:
            reader = _HashingReader(fh, digest)
            self._tar.addfile(member, reader)
        self._entries.append({"path": name, "size": size, "sha256": digest.hexdigest()})

    def names(self) -> set[str]:
        return {e["path"] for e in self._entries}

    def close(self) -> Path:
        manifest = {"format": FORMAT, "kind": self.kind, **self.info, "files": self._entries}
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        if self._zip is not None:
            self._zip.writestr(MANIFEST, data)
            self._zip.close()
        else:
            assert self._tar is not None
            member = tarfile.TarInfo(MANIFEST)
            member.size = len(data)
            member.mode = 0o600
            self._tar.addfile(member, io.BytesIO(data))
            self._tar.close()
        with self._tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._zip is not None:
            self._zip.close()
        elif self._tar is not None:
            self._tar.close()
        self._tmp.unlink(missing_ok=True)

    def _check_name(self, name: str) -> None:
        if not _safe(name) or name == MANIFEST or name in self.names():
            raise ArchiveError(f"nombre no válido en el archivo: {name!r}")


class _HashingReader:
    def __init__(self, fh: Any, digest: Any) -> None:
        self._fh, self._digest = fh, digest

    def read(self, size: int = -1) -> bytes:
        chunk = self._fh.read(size)
        self._digest.update(chunk)
        return bytes(chunk)


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts \
        and "\\" not in name and "\x00" not in name


def _members(archive: Path) -> Iterator[tuple[str, bool, IO[bytes] | None]]:
    """``(name, is_file, reader)`` of every member, of a .zip or a .tar.gz alike."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if info.is_dir():
                    yield info.filename, False, None
                    continue
                with z.open(info) as fh:
                    yield info.filename, True, fh
        return
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            yield member.name, member.isfile(), (tar.extractfile(member) if member.isfile()
                                                 else None)


_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError)


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        data = next((fh.read() for name, is_file, fh in _members(archive)
                     if name == MANIFEST and fh is not None), None)
        if data is None:
            raise ArchiveError("el archivo no tiene manifest.json")
        manifest = json.loads(data)
    except (*_READ_ERRORS, ValueError) as exc:
        raise ArchiveError(f"no se pudo leer el archivo {archive.name}: {exc}") from None
    if (not isinstance(manifest, dict) or manifest.get("format") != FORMAT
            or not isinstance(manifest.get("files"), list)):
        raise ArchiveError("manifest.json no tiene el formato esperado")
    return manifest


def verify(archive: Path) -> dict[str, Any]:
    """The manifest, after checking every member's size and SHA-256 against it."""
    manifest = read_manifest(archive)
    expected = {e["path"]: e for e in manifest["files"]}
    seen: set[str] = set()
    try:
        for name, is_file, fh in _members(archive):
            if name == MANIFEST:
                continue
            entry = expected.get(name)
            if entry is None or not is_file or fh is None or not _safe(name) or name in seen:
                raise ArchiveError(f"{name}: no figura en el manifiesto")
            digest, size = _digest(fh)
            if size != entry["size"] or digest != entry["sha256"]:
                raise ArchiveError(f"{name}: la suma SHA-256 no coincide "
                                   "(archivo alterado o dañado)")
            seen.add(name)
    except _READ_ERRORS as exc:
        raise ArchiveError(f"no se pudo leer el archivo {archive.name}: {exc}") from None
    missing = set(expected) - seen
    if missing:
        raise ArchiveError(f"faltan archivos del manifiesto: {', '.join(sorted(missing))}")
    return manifest


def _digest(fh: Any) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def extract(archive: Path, targets: Iterable[tuple[str, Path]]) -> list[Path]:
    """Write members to disk: each ``(prefix, directory)`` maps members starting with
    ``prefix`` into ``directory`` (a member equal to a prefix ending without "/" maps
    to that exact path). Call ``verify`` first."""
    rules = list(targets)
    written: list[Path] = []
    for name, is_file, fh in _members(archive):
        if name == MANIFEST or not is_file or fh is None:
            continue
        dest = _destination(name, rules)
        if dest is None:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("xb") as out:  # never overwrite
            while chunk := fh.read(1 << 20):
                out.write(chunk)
        written.append(dest)
    return written


def _destination(name: str, rules: list[tuple[str, Path]]) -> Path | None:
    for prefix, target in rules:
        if prefix.endswith("/") and name.startswith(prefix):
            rest = PurePosixPath(name[len(prefix):])
            return target.joinpath(*rest.parts)
        if name == prefix:
            return target
    return None
