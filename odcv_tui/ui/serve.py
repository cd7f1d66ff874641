"""The explorer in a browser: textual-serve runs one `odcv serve-session` process per tab and relays it.
Lives in ui/ because textual-serve is part of the Textual stack the headless layers never import."""

from __future__ import annotations


def serve_explorer(session_command: str, *, host: str, port: int, title: str, public_url: str | None) -> None:
    from textual_serve.server import Server

    Server(session_command, host=host, port=port, title=title, public_url=public_url).serve()
