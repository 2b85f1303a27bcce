"""The `pht` command: every command documented, reports in table/csv/json, errors in one line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from pht.cli import app

runner = CliRunner()


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((prefix + name, cmd))
        if hasattr(cmd, "commands"):
            out += _commands(cmd, prefix + name + " ")
    return out


def test_help_lists_every_command_with_a_one_line_purpose() -> None:
    root = get_command(app)
    commands = _commands(root)
    assert {"run", "registry init", "registry info", "pilot show", "pilot funds"} <= {
        n for n, _ in commands
    }
    for name, cmd in commands:
        assert (cmd.help or "").strip(), f"`pht {name}` has no help text"
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name, _ in _commands(root):
        if " " not in name:
            assert name in result.output


def test_pilot_show_json_reports_the_pilot() -> None:
    result = runner.invoke(app, ["pilot", "show", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["municipalities"], data["practices"], data["gps"]) == (9, 17, 112)
    assert data["financing_models"] == {"fee": 12, "grant": 5}
    assert data["listed"] == 103_000 and data["nurse_fte"] == "29.0"


def test_pilot_funds_json_totals_for_2021() -> None:
    result = runner.invoke(app, ["pilot", "funds", "--year", "2021", "--format", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output)["totals"]
    assert totals == {"gps": 112, "to_practices": "15008000.00", "to_municipalities": "2912000.00"}


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_pilot_funds_other_formats(fmt: str) -> None:
    result = runner.invoke(app, ["pilot", "funds", "--year", "2018", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "Rana" in result.output


def test_registry_init_and_info(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["registry", "init", "-w", str(path)]).exit_code == 0
    result = runner.invoke(app, ["registry", "info", "-w", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema_version"] == 1 and data["tables"]["contacts"] == 0


@pytest.mark.slow
def test_main_job_builds_the_pilot_into_the_warehouse_and_the_app(tmp_path: Path) -> None:
    """`pht run --no-serve` on a small pilot: synthetic extract, warehouse, app database, users.

    Runs in a child process: the main job configures Django for its own process.
    """
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHT_", "DJANGO_"))}
    env["PHT_HOME"] = str(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pht",
            "run",
            "--no-serve",
            "--persons",
            "1500",
            "--years",
            "2021-2023",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sykepleier-01" in proc.stdout and "pht-demo-passord" in proc.stdout
    info = runner.invoke(
        app, ["registry", "info", "-w", str(tmp_path / "warehouse.duckdb"), "--format", "json"]
    )
    assert json.loads(info.output)["tables"]["practices"] >= 17
    assert (tmp_path / "app.sqlite3").exists()


def test_a_users_error_is_one_clear_line_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "pht", "registry", "info", "-w", str(tmp_path / "missing.duckdb")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "pht registry init" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_a_command_imports_only_its_own_room() -> None:
    """`pht backup` does not pay for the statistics, charts and call rooms at start-up; the
    whole command (as `pht --help` shows it) still has every sub-command."""
    import subprocess
    import sys

    probe = (
        "import sys; sys.argv = ['pht', 'backup', '--help']\n"
        "from pht.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('statsmodels', 'altair', 'scipy', 'pht.call', 'pht.population')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    assert "HEAVY []" in done.stdout, done.stdout[-500:]
    names = {name for name, _ in _commands(get_command(app))}
    assert {"backup", "restore", "run", "registry", "app", "call", "evaluate"} <= names
