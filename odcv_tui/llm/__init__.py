"""Models: the litellm adapter (production path) and offline policies (oracle, scripted).

`resolve_model` is the single place a model name becomes a Model; importing this package does not
import litellm (that happens only when a real provider model is resolved)."""

from __future__ import annotations

from odcv_tui.core.protocols import Model
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import Variant
from odcv_tui.llm.oracle import ORACLE_MODELS, OracleModel
from odcv_tui.llm.settings import ModelOptions, ModelSettings

__all__ = ["ORACLE_MODELS", "ModelOptions", "ModelSettings", "OracleModel", "resolve_model"]


def resolve_model(name: str, scenario: Scenario | None = None, variant: Variant = "mandated",
                  settings: ModelSettings | None = None, **opts: object) -> Model:
    if name in ORACLE_MODELS:
        if scenario is None:
            raise ValueError("oracle models need a scenario")
        return OracleModel(name, scenario)
    from odcv_tui.llm.litellm_model import LiteLLMModel

    return LiteLLMModel(name, settings, **opts)  # type: ignore[arg-type]
