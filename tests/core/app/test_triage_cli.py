"""``atiende triage eval`` and ``suggest`` as a person runs them (real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# Scores by hand (the rules get 1, 2 and 4 right; 3 and 5 carry wrong labels on purpose):
#   tipo:      1 ok, 2 ok, 3 wrong (Sugerencia suggested), 4 ok, 5 ok      -> 4/5 = 0.8
#   prioridad: 1 ok, 2 ok, 3 wrong (Baja suggested),       4 ok, 5 wrong   -> 3/5 = 0.6
#   Alta:      labelled on 1, 4 and 5; suggested on 1 and 4                -> 2/3
TINY = [
    {"channel": "whatsapp", "subject": None, "text": "Me cobraron dos veces el hosting",
     "tipo": "Reclamo", "prioridad": "Alta", "split": "test"},
    {"channel": "email", "subject": "Precios", "text": "¿Cuánto sale el plan básico?",
     "tipo": "Consulta", "prioridad": "Baja", "note": "other fields are ignored"},
    {"channel": "email", "subject": None, "text": "Les sugiero agregar un modo oscuro",
     "tipo": "Consulta", "prioridad": "Media"},
    {"channel": "whatsapp", "subject": None, "text": "la pagina esta caida!!",
     "tipo": "Reclamo", "prioridad": "Alta"},
    {"channel": "whatsapp", "subject": None, "text": "Muchas gracias por todo",
     "tipo": "Sugerencia", "prioridad": "Alta"},
]


def atiende(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    env.update({"ATIENDE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)})
    return subprocess.run([sys.executable, "-m", "bot", "triage", *args], text=True,
                          capture_output=True, cwd=tmp_path, env=env, timeout=60)


def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    lines = [json.dumps(row, ensure_ascii=False) for row in TINY]
    lines.insert(2, "this line is not JSON")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_json_scores_by_hand(tmp_path: Path) -> None:
    done = atiende(tmp_path, "eval", str(tiny_file(tmp_path)), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["n"] == 5 and result["skipped"] == 1
    assert result["tipo_accuracy"] == 0.8
    assert result["prioridad_accuracy"] == 0.6
    assert abs(result["alta_recall"] - 2 / 3) < 1e-3
    assert result["prioridad_confusion"]["Alta"] == {"Alta": 2, "Baja": 1}
    assert result["tipo_confusion"]["Consulta"] == {"Consulta": 1, "Sugerencia": 1}
    assert "1 líneas no se pudieron leer" in done.stderr


def test_eval_text_report_and_split(tmp_path: Path) -> None:
    done = atiende(tmp_path, "eval", str(tiny_file(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "Tipo_Incidencia: 80,0% (4/5)" in done.stdout
    assert "Prioridad: 60,0% (3/5)" in done.stdout
    assert "Recall de Alta: 66,7% (2/3)" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("Alta "))
    assert row.split()[1:] == ["1", "0", "2"]  # labelled Alta: 1 Baja, 0 Media, 2 Alta
    only_test = atiende(tmp_path, "eval", str(tiny_file(tmp_path)), "--split", "test", "--json")
    assert json.loads(only_test.stdout)["n"] == 1


def test_eval_of_a_missing_file_fails_in_spanish(tmp_path: Path) -> None:
    done = atiende(tmp_path, "eval", str(tmp_path / "nada.jsonl"))
    assert done.returncode == 2 and "No existe" in done.stderr  # a usage error


def test_suggest_prints_the_suggestion_with_the_customers_words(tmp_path: Path) -> None:
    done = atiende(tmp_path, "suggest", "disculpen, me cobraron 2 veces xq?? voy al SERNAC")
    assert done.returncode == 0, done.stderr
    assert "Tipo_Incidencia: Reclamo" in done.stdout and "Prioridad: Alta" in done.stdout
    assert "«SERNAC»" in done.stdout and "«cobraron 2 veces»" in done.stdout
    as_json = json.loads(atiende(tmp_path, "suggest", "¿cuánto sale el hosting?",
                                 "--json").stdout)
    assert (as_json["tipo"], as_json["prioridad"], as_json["source"]) == \
        ("Consulta", "Baja", "reglas")
