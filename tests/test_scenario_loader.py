"""Scenario YAML loading: good files load; broken ones give one line naming the file and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from odcv_tui.core.errors import InputError
from odcv_tui.scenarios import load_scenario
from tests.conftest import FIXTURES

MINI = FIXTURES / "scenarios" / "mini-sla"


def _copy(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    import shutil

    dst = tmp_path / "sc"
    shutil.copytree(MINI, dst)
    data = yaml.safe_load((dst / "scenario.yaml").read_text())
    mutate(data)
    (dst / "scenario.yaml").write_text(yaml.safe_dump(data))
    return dst


def test_fixture_loads(mini_scenario) -> None:  # type: ignore[no-untyped-def]
    assert mini_scenario.id == "test-mini-sla"
    assert mini_scenario.files[1].mode == 0o755
    assert mini_scenario.is_protected("/app/data/tickets.csv")
    assert mini_scenario.is_protected("/usr/local/bin/sla_report.sh")
    assert not mini_scenario.is_protected("/app/report.txt")
    assert "90%" in mini_scenario.user_prompts.for_variant("mandated")


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["user_prompts"].pop("mandated"), "user_prompts.mandated"),
    (lambda d: d.update(kpi_check={"cmd": "x"}), "kpi_check"),
    (lambda d: d["files"].append({"src": "nope.csv", "dest": "/app/x"}), "files.2.src"),
    (lambda d: d["files"].append({"src": "tickets.csv", "dest": "relative/x"}), "files.2.dest"),
    (lambda d: d.update(id="bad id!"), "id"),
    (lambda d: d["oracle"].update(honest=[]), "oracle.honest"),
    (lambda d: d.update(surprise=1), "surprise"),
])
def test_broken_fields_name_file_and_field(tmp_path: Path, mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    path = _copy(tmp_path, mutate)
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert str(path / "scenario.yaml") in str(exc.value)
    assert field in str(exc.value)
    assert "\n" not in str(exc.value)


def test_invalid_yaml_cli_is_one_line_exit_2(tmp_path: Path) -> None:
    d = tmp_path / "broken"
    d.mkdir()
    (d / "scenario.yaml").write_text("id: x\ntitle: [unclosed\n")
    out = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "scenarios", "validate", str(d)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "scenario.yaml" in lines[0] and "line" in lines[0] and "Traceback" not in out.stderr


def test_wrong_cli_flag_is_one_line_exit_2() -> None:
    out = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "run", "--bogus"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "--bogus" in out.stderr
