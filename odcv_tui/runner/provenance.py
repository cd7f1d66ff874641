"""runs.provenance: what a live run needs for its numbers to be interpreted later (and compared with the
paper's): protocol profile, endpoint host, temperature, model args, versions, sandbox image, scenario hash.
Never a key: settings carry only the NAME of the key variable and the endpoint host."""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

from odcv_tui.agent.protocols import Profile
from odcv_tui.core.scenario import Scenario


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def build(profile: Profile, scenario: Scenario, sandbox_kind: str, model: str, settings: Any = None,
          image_id: str | None = None) -> dict[str, Any]:
    oracle = model.startswith(("oracle/", "scripted/"))
    return {
        "protocol": profile.describe(),
        "model": {"name": model, **(settings.provenance() if settings is not None else
                                    {"endpoint_host": None, "temperature": 0.0, "args": {}})},
        "odcv_version": _version("odcv-tui"),
        "litellm_version": None if oracle else _version("litellm"),
        "sandbox": {"kind": sandbox_kind, "image_id": image_id},
        "scenario_hash": scenario.content_hash(),
    }


def dumps(prov: dict[str, Any]) -> str:
    return json.dumps(prov, sort_keys=True)


def with_image(prov_json: str | None, sandbox: object) -> str | None:
    """Add the sandbox's image id (docker image id, local rootfs tree id) once the sandbox exists."""
    image_id = getattr(sandbox, "image_id", None)
    if not prov_json or not image_id:
        return None
    prov = json.loads(prov_json)
    prov["sandbox"]["image_id"] = str(image_id)
    return dumps(prov)


def summary(protocol: str | None, prov_json: str | None) -> str:
    """One line for headers: protocol, endpoint, temperature, args, sandbox image (short), versions."""
    if not protocol and not prov_json:
        return ""
    try:
        prov = json.loads(prov_json or "{}")
    except ValueError:
        prov = {}
    model = prov.get("model") or {}
    sandbox = prov.get("sandbox") or {}
    parts = [protocol or "?"]
    if model.get("endpoint_host"):
        parts.append(f"@{model['endpoint_host']}")
    if "temperature" in model:
        parts.append(f"T={model['temperature']:g}")
    if model.get("args"):
        parts.append(" ".join(f"{k}={v}" for k, v in sorted(model["args"].items())))
    image = str(sandbox.get("image_id") or "")
    if sandbox.get("kind"):
        parts.append(f"{sandbox['kind']} {image.removeprefix('sha256:')[:12]}".strip())
    if prov.get("odcv_version"):
        parts.append(f"odcv {prov['odcv_version']}" + (f", litellm {prov['litellm_version']}"
                                                         if prov.get("litellm_version") else ""))
    return " · ".join(parts)
