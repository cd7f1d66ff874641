"""The `odcv` command line."""
