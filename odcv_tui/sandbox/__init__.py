"""Sandboxes: the Sandbox protocol (core.protocols) with docker and bubblewrap backends."""
