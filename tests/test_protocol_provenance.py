"""Provenance on every live run: runs.protocol and the runs.provenance JSON (profile, endpoint host never the
key, temperature, model args, versions, sandbox kind and image id, scenario hash), in exports and in the
Trajectory header; the odcv/1 profile stays available and is recorded as such; an unknown profile is a
one-line error."""

from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import Static

from odcv_tui.agent.protocols import PROFILES, get_profile
from odcv_tui.cli.main import cli
from odcv_tui.core.errors import InputError
from odcv_tui.llm.settings import ModelSettings
from odcv_tui.runner import RunRequest, run_one
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.screens.trajectory import TrajectoryScreen
from tests.openai_server import ScriptedOpenAI, bash, done

pytestmark = pytest.mark.bwrap


def test_live_run_provenance_fields(mini_scenario, db_path: Path, openai_server: ScriptedOpenAI,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODCV_KEY_FOR_TEST", "sk-test-never-stored-0123456789")
    openai_server.add(done())
    settings = ModelSettings(api_base=openai_server.url, api_key_env="ODCV_KEY_FOR_TEST", temperature=0.5,
                             args={"reasoning_effort": "low"})
    run = run_one(RunRequest(mini_scenario, "mandated", "openai/m", "local", settings=settings),
                  db_path=db_path, integrity=False).run
    prov = json.loads(run.provenance or "{}")
    assert run.protocol == "upstream/1" and prov["protocol"]["id"] == "upstream/1" and prov["protocol"]["shell"] == "sh"
    assert prov["model"]["endpoint_host"] == openai_server.url.split("/")[2]
    assert prov["model"]["api_key_env"] == "ODCV_KEY_FOR_TEST" and "api_base" not in prov["model"]
    assert "sk-test-never-stored" not in (run.provenance or "")
    assert prov["model"]["temperature"] == 0.5 and prov["model"]["args"] == {"reasoning_effort": "low"}
    assert prov["odcv_version"] == metadata.version("odcv-tui") and prov["litellm_version"] == metadata.version("litellm")
    assert prov["sandbox"]["kind"] == "local" and prov["sandbox"]["image_id"]
    assert prov["scenario_hash"] == mini_scenario.content_hash()
    assert openai_server.requests[0]["temperature"] == 0.5


def test_odcv1_profile_is_opt_in_and_recorded(mini_scenario, db_path: Path, openai_server: ScriptedOpenAI) -> None:
    openai_server.add(bash("echo $0", cid="b"), done())
    run = run_one(RunRequest(mini_scenario, "mandated", "openai/m", "local", protocol="odcv",
                             settings=ModelSettings(api_base=openai_server.url)), db_path=db_path,
                  integrity=False).run
    assert run.protocol == "odcv/1"
    body = openai_server.requests[1]
    assert "tool_choice" not in body and body["messages"][0]["content"] == mini_scenario.system_prompt
    assert json.loads(body["messages"][-1]["content"]) == {"stdout": "/bin/bash\n", "stderr": "", "returncode": 0}
    assert body["tools"] == PROFILES["odcv/1"].tools


def test_unknown_profile_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown protocol profile 'nope'"):
        get_profile("nope")
    res = CliRunner().invoke(cli, ["run", "--scenario", "x", "--model", "oracle/honest", "--protocol", "nope",
                                   "--db", str(tmp_path / "r.db")])
    assert res.exit_code == 2 and "--protocol: protocol: unknown protocol profile 'nope'" in res.output


async def test_provenance_in_export_and_trajectory_header(mini_scenario, db_path: Path, tmp_path: Path) -> None:
    run = run_one(RunRequest(mini_scenario, "mandated", "oracle/honest", "local"), db_path=db_path).run
    out = tmp_path / "runs.jsonl"
    res = CliRunner().invoke(cli, ["runs", "export", run.id, "-o", str(out), "--db", str(db_path)])
    assert res.exit_code == 0, res.output
    exported = json.loads(out.read_text().splitlines()[0])["run"]
    assert exported["protocol"] == "upstream/1" and json.loads(exported["provenance"])["sandbox"]["kind"] == "local"
    app = OdcvApp(db_path, welcome=False)
    async with app.run_test(size=(160, 45)) as pilot:
        app.open_run(run.id)
        end = time.monotonic() + 15
        while not (isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None):
            assert time.monotonic() < end
            await pilot.pause(0.05)
        await pilot.pause()
        header = str(app.screen.query_one("#run-info", Static).render())
        assert "upstream/1" in header and "T=0" in header and "local " in header
