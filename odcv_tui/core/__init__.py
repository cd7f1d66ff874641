"""Domain types, protocols, events and errors. No I/O, no textual, litellm or docker."""
