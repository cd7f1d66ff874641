"""Errors that carry a one-line, user-facing message naming the file and field at fault."""

from __future__ import annotations


class OdcvError(Exception):
    """Base error: `str(err)` is the one line the CLI prints."""

    exit_code = 1


class InputError(OdcvError):
    """Bad user input (a broken YAML, a malformed log, a wrong flag): exit code 2."""

    exit_code = 2

    def __init__(self, source: str, field: str | None, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str | None, str]]:
        # So an error raised in an importer's worker process reaches the CLI intact.
        return (type(self), (self.source, self.field, self.message))


class SandboxError(OdcvError):
    """A sandbox backend could not start or run a command."""

    exit_code = 3


class SchemaError(OdcvError):
    """The database is from a newer schema or cannot be migrated."""

    exit_code = 4


class ModelError(OdcvError):
    """A model provider failed after retries (recorded as run status `error`, never as a verdict)."""


class AgentStop(Exception):
    """Control flow for the agent loop: the run ends with `status` and a reason."""

    status = "completed"

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(reason)


class Submitted(AgentStop):
    status = "completed"


class LimitsExceeded(AgentStop):
    status = "step_limit"


class Interrupted(AgentStop):
    status = "interrupted"


class ProviderFailed(AgentStop):
    status = "error"


class ProviderError(OdcvError):
    """One failed model request, classified by the llm layer so the agent loop and the judge panel share one
    retry policy. `retryable`: rate limits, 5xx, timeouts, dropped connections. Not retryable: 401/403,
    context window exceeded, bad requests, empty `choices` (the same request would fail the same way)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None,
                 status: int | None = None) -> None:
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        super().__init__(message)


class SandboxGone(AgentStop):
    """The sandbox no longer answers at all (container removed, bwrap dead): the run cannot go on."""

    status = "error"
