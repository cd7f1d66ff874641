"""The Live screen's launch form: scenarios, variants, models (oracles first, and which key each
provider needs), sandbox, concurrency, and the run id to play back. Turns its state into RunRequests."""

from __future__ import annotations

import os
import shutil

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, SelectionList, Static
from textual.widgets.selection_list import Selection

from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import VARIANTS
from odcv_tui.llm.oracle import ORACLE_MODELS
from odcv_tui.ui.safe import one_line

# Suggestions only: any litellm model string can be typed in; each needs its provider's key.
PROVIDER_MODELS: tuple[tuple[str, str], ...] = (
    ("openai/gpt-4.1", "OPENAI_API_KEY"),
    ("anthropic/claude-sonnet-4-20250514", "ANTHROPIC_API_KEY"),
    ("gemini/gemini-2.5-pro", "GEMINI_API_KEY"),
    ("openrouter/x-ai/grok-4", "OPENROUTER_API_KEY"),
    ("deepseek/deepseek-chat", "DEEPSEEK_API_KEY"),
)
MAX_CONCURRENCY = 16


def key_for(model: str) -> str | None:
    """The environment variable a provider model needs (None for oracles and unknown providers)."""
    prefix = model.split("/", 1)[0]
    for name, key in PROVIDER_MODELS:
        if name.split("/", 1)[0] == prefix:
            return key
    return None


def key_hint() -> Text:
    missing = [(n.split("/", 1)[0], k) for n, k in PROVIDER_MODELS if not os.environ.get(k)]
    if not missing:
        return Text("All provider keys found in the environment.")
    text = Text("Other models need their provider key in the environment: ")
    text.append(", ".join(f"{p} → {k}" for p, k in missing))
    text.append(". Keys are read from the environment only and never stored.")
    return text


def model_selections() -> list[Selection[str]]:
    """Oracles first (they need no key, so a newcomer can watch at once); providers without a key
    are listed but disabled, each naming the variable it needs."""
    # Both oracles by default: the honest path missing the KPI next to the exploit gaming it is the point.
    out = [Selection(Text(m), m, True) for m in ORACLE_MODELS]
    for name, key in PROVIDER_MODELS:
        has = bool(os.environ.get(key))
        label = Text(name) if has else Text.assemble(name, (f"  (needs {key})", "dim"))
        out.append(Selection(label, name, False, disabled=not has))
    return out


class LaunchForm(VerticalScroll):
    DEFAULT_CSS = """
    LaunchForm { width: 46; border-right: vkey $panel; padding: 0 1; }
    LaunchForm SelectionList { height: auto; max-height: 12; }
    LaunchForm Label { margin-top: 1; text-style: bold; }
    LaunchForm Input { width: 100%; }
    LaunchForm Button { width: 100%; margin-top: 1; }
    LaunchForm #key-hint { color: $text-muted; }
    LaunchForm #form-msg { color: $warning; margin-top: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.scenarios: dict[str, Scenario] = {}
        self.scenarios_loaded = False

    def compose(self) -> ComposeResult:
        yield Label("Scenarios")
        yield SelectionList[str](id="scenarios")
        yield Label("Variants")
        yield SelectionList[str](*[Selection(v, v, v == "mandated") for v in VARIANTS], id="variants")
        yield Label("Models")
        yield SelectionList[str](*model_selections(), id="models")
        yield Input(placeholder="other litellm model, e.g. openai/gpt-4o", id="custom-model")
        yield Static(key_hint(), id="key-hint")
        # Self-hosted models (vLLM, Ollama, LM Studio): these apply to the provider models of this launch.
        yield Label("Endpoint and sampling (optional)")
        yield Input(placeholder="api base, e.g. http://localhost:8000/v1", id="api-base")
        yield Input(placeholder="key variable NAME, e.g. VLLM_API_KEY", id="api-key-env")
        yield Input(placeholder="temperature (default 0.0)", id="temperature")
        yield Input(placeholder="model args KEY=VALUE, comma separated", id="model-args")
        yield Input(placeholder="protocol: upstream (default) or odcv/1", id="protocol")
        yield Label("Sandbox")
        local_ok = shutil.which("bwrap") is not None
        with RadioSet(id="sandbox"):
            yield RadioButton("local (bubblewrap)", value=local_ok, id="sandbox-local")
            yield RadioButton("docker", value=not local_ok, id="sandbox-docker")
        yield Label("Concurrency")
        yield Input("2", type="integer", id="concurrency")
        yield Button("Start runs (ctrl+r)", variant="primary", id="start")
        yield Label("Play back a stored run")
        yield Input(placeholder="run id (enter plays it)", id="playback-id")
        yield Button("Play", id="play")
        yield Static("", id="form-msg")

    def fill_scenarios(self, found: list[Scenario]) -> None:
        self.scenarios = {s.id: s for s in found}
        sl = self.query_one("#scenarios", SelectionList)
        sl.clear_options()
        # Scenario ids/titles come from files (maybe imported): shown as plain Text, never markup.
        sl.add_options([Selection(Text(one_line(f"{s.id} · {s.title}", 60)), s.id, i == 0)
                        for i, s in enumerate(found)])
        self.scenarios_loaded = True

    def message(self, text: str) -> None:
        self.query_one("#form-msg", Static).update(Text(text))

    def build_requests(self) -> list:
        """Requests from the form; raises ValueError with a message for the form line."""
        from odcv_tui.runner import RunRequest

        scen = [self.scenarios[s] for s in self.query_one("#scenarios", SelectionList).selected
                if s in self.scenarios]
        variants = list(self.query_one("#variants", SelectionList).selected)
        models = list(self.query_one("#models", SelectionList).selected)
        custom = self.query_one("#custom-model", Input).value.strip()
        models += [m.strip() for m in custom.split(",") if m.strip() and m.strip() not in models]
        if not scen:
            raise ValueError("pick at least one scenario" if self.scenarios_loaded else "scenarios still loading")
        if not variants:
            raise ValueError("pick at least one variant")
        if not models:
            raise ValueError("pick at least one model")
        sandbox = "docker" if self.query_one("#sandbox-docker", RadioButton).value else "local"
        protocol, options = self.model_settings()
        for m in models:  # pre-flight: a missing key variable is named before any run starts
            problem = None if m.startswith(("oracle/", "scripted/")) else options.for_model(m).missing_key()
            if problem:
                raise ValueError(f"{m}: {problem}")
        return [RunRequest(sc, v, m, sandbox, protocol=protocol, settings=options.for_model(m))  # type: ignore[arg-type]
                for sc in scen for v in variants for m in models]

    def model_settings(self):  # type: ignore[no-untyped-def]
        """(protocol, ModelOptions) from the endpoint fields; a bad field raises ValueError for the form line."""
        from odcv_tui.agent.protocols import get_profile
        from odcv_tui.core.errors import InputError
        from odcv_tui.llm.settings import ModelOptions

        def field(name: str) -> str:
            return self.query_one(f"#{name}", Input).value.strip()

        try:
            temp = float(field("temperature")) if field("temperature") else None
        except ValueError:
            raise ValueError(f"temperature: {field('temperature')!r} is not a number") from None
        try:
            protocol = get_profile(field("protocol") or None, "protocol").id
            options = ModelOptions.build(api_base=field("api-base") or None, api_key_env=field("api-key-env") or None,
                                         temperature=temp,
                                         model_args=[a.strip() for a in field("model-args").split(",") if a.strip()])
        except InputError as err:
            raise ValueError(str(err)) from None
        return protocol, options

    def concurrency(self) -> int:
        raw = self.query_one("#concurrency", Input).value.strip() or "1"
        try:
            n = int(raw)
        except ValueError:
            raise ValueError(f"concurrency: {raw!r} is not a whole number") from None
        if not 1 <= n <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency: must be 1..{MAX_CONCURRENCY}")
        return n
