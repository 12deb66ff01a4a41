"""The security tests use the db suite's fixtures (a migrated SQLite database per test) and
the page suite's (an app data dir, seeded by a replayed dataset)."""

from tests.unit.db.conftest import db_url, engine, session
from tests.unit.pages.conftest import data_dir, seeded_dir, seeded_template

__all__ = ["data_dir", "db_url", "engine", "seeded_dir", "seeded_template", "session"]
