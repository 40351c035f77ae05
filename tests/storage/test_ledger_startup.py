"""Opening a ledger that is already at the newest schema costs plain SQL, not an Alembic import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from include.walkme_sync.ledger import Ledger
from include.walkme_sync.ledger.migrate import (
    HEAD_REVISION,
    VERSION_TABLE,
    current_revision,
    head_revision,
    upgrade_to_head,
)


def test_the_head_constant_is_alembics_head() -> None:
    assert head_revision() == HEAD_REVISION


OPEN_AN_UP_TO_DATE_LEDGER = """
import sys
from include.walkme_sync.ledger import Ledger
Ledger(sys.argv[1]).runs()
print(sorted(name for name in sys.modules if name == "alembic" or name.startswith("alembic.")))
"""


def test_a_ledger_at_head_is_opened_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger(url)  # creates it: Alembic runs the migrations
    done = subprocess.run(
        [sys.executable, "-c", OPEN_AN_UP_TO_DATE_LEDGER, url],
        check=True,
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_ledger_behind_head_is_still_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0002_append_only'"))
        conn.execute(sa.text("ALTER TABLE sync_runs DROP COLUMN created"))
    upgrade_to_head(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
    columns = {column["name"] for column in sa.inspect(engine).get_columns("sync_runs")}
    assert "created" in columns
