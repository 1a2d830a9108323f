"""README's own set-up steps, run as written, in order, from a fresh data directory.

``atiende run`` (the main job of "The two commands") creates a provisional
"Administrador"; the Telegram set-up's ``atiende team add "Carla" --role administrador``
must then take it over instead of failing, and ``atiende team invite Carla`` must work.
Then the administrator works a ticket from the console, and the customer's messages are
signed with her name and the company name setting, never "Administrador"."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _readme_commands() -> list[list[str]]:
    """The ``atiende`` commands of the set-up, in README order."""
    main_job = re.findall(r"\.venv/bin/(atiende run)\b", _section("The two commands"))
    telegram = re.findall(r"`(atiende team [^`]+)`", _section("Telegram set-up"))
    return [shlex.split(c) for c in main_job + telegram]


def _atiende(args: list[str], data: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    env.update({"ATIENDE_DATA_DIR": str(data), "ATIENDE_COMPANY_NAME": "Comercial Andes SpA",
                "PYTHONPATH": str(ROOT)})
    assert args[0] == "atiende"
    return subprocess.run([sys.executable, "-m", "bot", *args[1:]], input=stdin, text=True,
                          capture_output=True, cwd=data.parent, env=env, timeout=60)


def test_readme_setup_steps_in_order(tmp_path: Path) -> None:
    data = tmp_path / "data"
    commands = _readme_commands()
    assert [c[:3] for c in commands] == [["atiende", "run"], ["atiende", "team", "add"],
                                         ["atiende", "team", "invite"]], commands

    first = _atiende(commands[0], data)  # the console, at end of input it stops
    assert first.returncode == 0, first.stderr
    listed = _atiende(["atiende", "team", "list"], data)
    assert "Administrador\tadministrador" in listed.stdout

    for command in commands[1:]:
        done = _atiende(command, data)
        assert done.returncode == 0, (command, done.stderr)
        assert "Ya hay un administrador" not in done.stderr
    assert "Enlace para Carla (un solo uso)" in done.stdout

    members = _atiende(["atiende", "team", "list"], data).stdout.strip().splitlines()
    assert len(members) == 1 and members[0].startswith("1\tCarla\tadministrador"), members

    # The administrator works a ticket from the console; what the customer gets is signed
    # by Carla and the company, and the confirmation sends the closing message.
    script = "\n".join([
        "/nuevo", "ana@example.cl", "Ana Pérez", "1", "No me llega la boleta", "1", "4", "1",
        "/responder 1 solicitud_informacion", "¿En qué fecha compró?", "1",
        "/resolver 1 Le reenviamos la boleta", "/conformidad 1 si", "/salir"]) + "\n"
    console = _atiende(["atiende", "run"], data, stdin=script)
    assert console.returncode == 0, console.stderr
    out = console.stdout
    assert "Hola, Ana:" in out and "Estimado/a" not in out
    assert "\nCarla\nEquipo de Atención al Cliente\nComercial Andes SpA" in out
    assert "Administrador\nEquipo" not in out
    assert "Asunto: Hemos cerrado su caso – No me llega la boleta [#1]" in out  # the cierre
    assert "Gracias por confirmarnos que el caso n.º 1, sobre su consulta, quedó resuelto" in out


def test_team_rename_deactivate_set_admin(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _atiende(["atiende", "team", "add", "Carla", "--role", "administrador"],
                    data).returncode == 0
    assert _atiende(["atiende", "team", "add", "Diego", "--email", "d@x.cl"],
                    data).returncode == 0
    again = _atiende(["atiende", "team", "add", "Otra", "--role", "administrador"], data)
    assert again.returncode == 1 and "Ya hay un administrador activo (Carla)" in again.stderr

    assert _atiende(["atiende", "team", "rename", "Diego", "Diego Soto"], data).returncode == 0
    refused = _atiende(["atiende", "team", "deactivate", "Carla"], data)
    assert refused.returncode == 1 and "set-admin" in refused.stderr
    assert _atiende(["atiende", "team", "set-admin", "Diego"], data).returncode == 0
    assert _atiende(["atiende", "team", "deactivate", "Carla"], data).returncode == 0

    members = _atiende(["atiende", "team", "list"], data).stdout.strip().splitlines()
    assert members == ["2\tDiego Soto\tadministrador\td@x.cl"]
