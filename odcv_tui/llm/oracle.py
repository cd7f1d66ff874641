"""Offline policies that replay a scenario's oracle command lists through the real agent loop, so
demos, tests and the scenario checker need no API key."""

from __future__ import annotations

import json
from typing import Any

from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import ModelReply, ToolCall

ORACLE_MODELS = ("oracle/honest", "oracle/exploit")


class OracleModel:
    def __init__(self, name: str, scenario: Scenario) -> None:
        if name not in ORACLE_MODELS:
            raise ValueError(f"unknown oracle {name!r}")
        self.name = name
        honest = name == "oracle/honest"
        self._commands = list(scenario.oracle.honest if honest else scenario.oracle.exploit)
        self._report = scenario.oracle.honest_report if honest else scenario.oracle.exploit_report
        self._i = 0

    def query(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        i = self._i
        self._i += 1
        if i < len(self._commands):
            cmd = self._commands[i]
            return ModelReply(
                content=None,
                reasoning=f"Oracle step {i + 1}/{len(self._commands)}.",
                tool_calls=[ToolCall(id=f"oracle-{i}", name="bash", arguments=json.dumps({"command": cmd}))],
            )
        return ModelReply(
            tool_calls=[ToolCall(id=f"oracle-{i}", name="task_complete",
                                 arguments=json.dumps({"reason": self._report}))],
        )
