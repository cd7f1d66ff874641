"""A scripted OpenAI-compatible chat-completions server for tests (stdlib only, real HTTP on 127.0.0.1).

Usage (the `openai_server` fixture yields a started server and stops it after the test):

    def test_x(openai_server):
        openai_server.add(bash("ls"), text("thinking..."), fault("429", retry_after=1), done("ok"))
        ... drive `odcv run --model openai/m --api-base {openai_server.url}` ...
        openai_server.requests   # every request body, parsed JSON, in arrival order
        openai_server.count      # how many requests arrived (faults included)

Each request to POST /v1/chat/completions pops the next script item. Items are plain dicts built by the
helpers below: replies (`bash`, `done`, `call`, `text`) and faults (`fault(kind)`, kinds in FAULTS). When the
script is exhausted the server answers 400 "script exhausted" (not retryable), so a test that asks for more
than it scripted fails loudly instead of hanging. `hang` holds the connection open until the client gives up
or the server stops; the other faults answer at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

FAULTS = ("429", "500", "503", "401", "403", "hang", "malformed", "empty_choices", "context_overflow",
          "bad_request")


def call(name: str, arguments: Any, cid: str | None = None, content: str | None = None,
         **message_extra: Any) -> dict[str, Any]:
    """A reply with one tool call; `arguments` is a dict (JSON-encoded) or a raw string (sent as is)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"reply": {"content": content, "tool_calls": [
        {"id": cid or f"call_{name}", "type": "function", "function": {"name": name, "arguments": args}}],
        **message_extra}}


def calls(*items: dict[str, Any], content: str | None = None) -> dict[str, Any]:
    """Several tool calls in one reply: `calls(call(...), call(...))`."""
    return {"reply": {"content": content, "tool_calls": [i["reply"]["tool_calls"][0] for i in items]}}


def bash(command: str, cid: str | None = None, **extra: Any) -> dict[str, Any]:
    return call("bash", {"command": command}, cid or f"call_{abs(hash(command)) % 10**8}", **extra)


def done(reason: str = "done", cid: str = "call_done") -> dict[str, Any]:
    return call("task_complete", {"reason": reason}, cid)


def text(content: str, **message_extra: Any) -> dict[str, Any]:
    return {"reply": {"content": content, **message_extra}}


def fault(kind: str, retry_after: float | None = None) -> dict[str, Any]:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault {kind!r}; one of {FAULTS}")
    return {"fault": kind, "retry_after": retry_after}


def _error(message: str, etype: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": etype, "param": None, "code": code}}


class ScriptedOpenAI:
    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def count(self) -> int:
        return len(self.requests)

    def add(self, *items: dict[str, Any]) -> ScriptedOpenAI:
        with self._lock:
            self.script.extend(items)
        return self

    def start(self) -> ScriptedOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self, body: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            self.requests.append(body)
            self.arrivals.append(time.monotonic())
            return self.script.pop(0) if self.script else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps(obj).encode(), headers)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, _error(f"no route {self.path}", "invalid_request_error"))
                    return
                item = server._next(body)
                if item is None:
                    self._json(400, _error("scripted server: script exhausted", "invalid_request_error"))
                    return
                if "fault" in item:
                    self._fault(item)
                    return
                self._json(200, completion(body.get("model", "m"), item["reply"], server.count))

            def _fault(self, item: dict[str, Any]) -> None:
                kind = item["fault"]
                if kind == "hang":
                    while not server._stop.wait(0.05):
                        pass
                    self.close_connection = True
                    return
                if kind == "429":
                    headers = {"Retry-After": f"{item['retry_after']:g}"} if item.get("retry_after") is not None else {}
                    self._json(429, _error("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                               headers)
                elif kind in ("500", "503"):
                    self._json(int(kind), _error("The server had an error while processing your request.",
                                                 "server_error"))
                elif kind == "401":
                    self._json(401, _error("Incorrect API key provided.", "invalid_request_error",
                                           "invalid_api_key"))
                elif kind == "403":
                    self._json(403, _error("You are not allowed to use this model.", "invalid_request_error"))
                elif kind == "bad_request":
                    self._json(400, _error("Invalid value for 'tool_choice'.", "invalid_request_error"))
                elif kind == "context_overflow":
                    self._json(400, _error("This model's maximum context length is 8192 tokens. However, your "
                                           "messages resulted in 9000 tokens.", "invalid_request_error",
                                           "context_length_exceeded"))
                elif kind == "malformed":
                    self._send(200, b'{"id": "x", "choices": [ {"message": ')
                elif kind == "empty_choices":
                    self._json(200, {"id": "chatcmpl-empty", "object": "chat.completion", "created": 0,
                                     "model": "m", "choices": [],
                                     "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}})

        return Handler


def completion(model: str, reply: dict[str, Any], n: int) -> dict[str, Any]:
    message = {"role": "assistant", **reply}
    finish = "tool_calls" if reply.get("tool_calls") else "stop"
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1_700_000_000 + n, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAI]:
    srv = ScriptedOpenAI().start()
    try:
        yield srv
    finally:
        srv.stop()
