"""The command line as people expect it: --quiet/--verbose everywhere, exit codes that
mean one thing, progress of long work, and a console whose log lines go to a file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.app import cli
from tests.core.app.test_cli_export import atiende


def mails(tmp_path: Path, n: int) -> Path:
    from tests.handlers.email.harness import mail

    folder = tmp_path / "correos"
    folder.mkdir()
    for i in range(n):
        (folder / f"{i:03}.eml").write_bytes(mail(subject=f"Consulta {i}",
                                                  message_id=f"<cli-{i}@example.cl>"))
    return folder


def log_of(tmp_path: Path) -> str:
    return (tmp_path / "data" / "atiende.log").read_text(encoding="utf-8")


def test_help_documents_the_exit_codes_and_the_global_options(tmp_path: Path) -> None:
    for args in (["--help"], ["mail", "import", "--help"], ["customers", "merge", "--help"]):
        shown = atiende(tmp_path, *args)
        assert shown.returncode == 0
        text = " ".join(shown.stdout.split())
        assert "Códigos de salida: 0 hecho; 1 falló" in text and "2 uso o configuración" in text
        assert "--quiet" in text and "--verbose" in text


def test_mail_import_in_a_pipe_summary_on_stdout_log_lines_in_the_file(tmp_path: Path) -> None:
    folder = mails(tmp_path, 3)
    done = atiende(tmp_path, "mail", "import", str(folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [done.stdout.strip()]  # one line
    assert done.stdout.startswith("3 correos leídos") and "3 tickets nuevos" in done.stdout
    assert done.stderr == ""  # no INFO line over the output (and quick: no progress line)
    assert log_of(tmp_path).count("ticket opened") == 3


def test_quiet_suppresses_the_status_output_before_or_after_the_command(tmp_path: Path) -> None:
    assert atiende(tmp_path, "db", "upgrade").stdout.startswith("Base de datos al día")
    quiet = atiende(tmp_path, "-q", "db", "upgrade")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    imported = atiende(tmp_path, "mail", "import", str(mails(tmp_path, 2)), "--quiet")
    assert imported.returncode == 0 and imported.stdout == "" and imported.stderr == ""
    assert log_of(tmp_path).count("ticket opened") == 2  # the work was done
    report = atiende(tmp_path, "--quiet", "report")  # a result is still printed
    assert "Tickets nuevos: 2" in report.stdout


def test_verbose_shows_the_log_lines_on_the_terminal_too(tmp_path: Path) -> None:
    done = atiende(tmp_path, "--verbose", "mail", "import", str(mails(tmp_path, 1)))
    assert done.returncode == 0, done.stderr
    assert "INFO bot.tickets.service: ticket opened ticket=#1" in done.stderr


@pytest.mark.parametrize(("args", "code", "says"), [
    (["report", "--no-such-option"], 2, "unrecognized arguments"),
    (["-q", "report", "-v"], 2, "no se pueden usar juntas"),
    (["export", "--format", "xlsx"], 2, "indique el archivo con --output"),
    (["mail", "import", "no-existe"], 2, "No existe"),
    (["customers", "merge", "1", "1"], 1, "administrador activo"),
])
def test_exit_codes(tmp_path: Path, args: list[str], code: int, says: str) -> None:
    done = atiende(tmp_path, *args)
    assert done.returncode == code, done.stderr
    assert says in done.stderr


def test_a_bug_is_one_line_on_the_terminal_and_a_traceback_in_the_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(args: object, settings: object) -> int:
        raise TypeError("unsupported operand")

    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setitem(cli.COMMANDS, "report", broken)
    root = logging.getLogger()
    before = root.handlers[:], root.level
    try:
        code = cli.main(["report"])
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:], level = before
        root.setLevel(level)
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [
        f"✗ Error interno (TypeError: unsupported operand); detalle en "
        f"{tmp_path / 'data' / 'atiende.log'}."]
    written = log_of(tmp_path)
    assert "ERROR bot.app.cli: atiende report failed" in written
    assert "Traceback (most recent call last)" in written and "TypeError" in written


def test_the_console_is_a_conversation_log_lines_go_to_the_file(tmp_path: Path) -> None:
    for command in ("console", "run"):  # run with no chat configured opens the console
        done = atiende(tmp_path, command, stdin="/nuevo\n+56 9 1234 5678\nPedro\n2\n"
                       "Me cobraron dos veces\n2\n3\n1\n/salir\n")
        assert done.returncode == 0, done.stderr
        assert "✓ Ticket creado." in done.stdout
        for stream in (done.stdout, done.stderr):
            assert "INFO" not in stream and "bot.tickets.service" not in stream
        # besides the conversation: where the log went, then only brief warnings
        first, *others = done.stderr.splitlines()
        assert first == f"(registro de eventos en {tmp_path / 'data' / 'atiende.log'})"
        assert all(line.startswith(("WARNING ", "ERROR ")) for line in others), others
    written = log_of(tmp_path)
    assert "INFO bot.tickets.service: ticket opened ticket=#1" in written
    assert "ticket opened ticket=#2" in written


def test_json_log_format_still_works_in_the_log_file(tmp_path: Path) -> None:
    import json

    done = atiende(tmp_path, "mail", "import", str(mails(tmp_path, 1)),
                   env={"ATIENDE_LOG_FORMAT": "json"})
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in log_of(tmp_path).splitlines() if line.strip()]
    assert any(r["message"].startswith("ticket opened ticket=#1") for r in records)
