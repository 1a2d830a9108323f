"""The original ``.eml`` of every mail is kept beside its ticket: the store makes each
digest folder once per process, and again if it has gone away since."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.storage.attachments import AttachmentStore


def test_an_original_is_stored_again_after_its_folder_was_removed(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "adjuntos", 1024 * 1024)
    raw = b"From: ana@example.cl\r\nSubject: Hola\r\n\r\nCuerpo\r\n"
    first = store.store(raw, "mensaje-original.eml", "message/rfc822", archival=True)
    assert first.stored_path is not None and Path(first.stored_path).read_bytes() == raw
    shutil.rmtree(Path(first.stored_path).parent)  # e.g. an erasure emptied it

    again = store.store(raw, "mensaje-original.eml", "message/rfc822", archival=True)
    assert again.stored_path == first.stored_path
    assert Path(again.stored_path).read_bytes() == raw
    assert not list(Path(again.stored_path).parent.glob("*.tmp"))


def test_many_originals_share_their_digest_folders(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "adjuntos", 1024 * 1024)
    stored = [store.store(f"mail {i}".encode(), "mensaje-original.eml", "message/rfc822")
              for i in range(300)]
    paths = {Path(s.stored_path or "") for s in stored}
    assert len(paths) == 300 and all(p.read_bytes().startswith(b"mail ") for p in paths)
    assert {p.parent.name for p in paths} == {s.sha256[:2] for s in stored}
