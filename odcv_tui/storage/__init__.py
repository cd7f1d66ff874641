"""runs.db: schema, migrations, writes and queries (sqlite-utils, WAL)."""

from odcv_tui.storage.db import DEFAULT_DB, default_db_path, open_db

__all__ = ["DEFAULT_DB", "default_db_path", "open_db"]
