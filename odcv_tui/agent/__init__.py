"""The agent loop: model -> bash -> observation. Depends on core protocols only."""
