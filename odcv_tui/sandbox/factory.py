"""Backend by name: the one place the runner turns `--sandbox KIND` into a Sandbox."""

from __future__ import annotations

from typing import Any

from odcv_tui.core.errors import InputError
from odcv_tui.core.protocols import Sandbox
from odcv_tui.core.scenario import Scenario

KINDS = ("local", "docker")


def make_sandbox(kind: str, scenario: Scenario, **opts: Any) -> Sandbox:
    if kind == "local":
        from odcv_tui.sandbox.local import LocalSandbox

        return LocalSandbox(scenario, **opts)
    if kind == "docker":
        from odcv_tui.sandbox.docker import DockerSandbox  # only this backend imports docker

        return DockerSandbox(scenario, **opts)
    raise InputError("--sandbox", None, f"unknown sandbox {kind!r} (choose from {', '.join(KINDS)})")
