"""Alembic migrations shipped in the package produce exactly the models' schema, both ways."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect

from hedgerow.cli.main import main
from hedgerow.hub.db import make_engine
from hedgerow.hub.migrate import current_revision, downgrade, upgrade
from hedgerow.hub.models import Base


def test_migrated_schema_matches_models_and_downgrades(db_url: str) -> None:
    assert current_revision(db_url) == "0003"
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        downgrade(db_url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(db_url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_cli_migrate_and_bootstrap(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/hub.db"
    runner = CliRunner()
    done = runner.invoke(main, ["hub", "migrate", "--db", db])
    assert done.exit_code == 0 and "revision 0003" in done.output
    admin = runner.invoke(main, ["hub", "token", "admin", "--db", db])
    assert admin.exit_code == 0 and admin.output.startswith("hr_")
    added = runner.invoke(main, ["hub", "tenant", "add", "home-1", "--role", "household",
                                 "--db", db])
    assert added.exit_code == 0 and '"role": "household"' in added.output
    enrol = runner.invoke(main, ["hub", "token", "enrol", "home-1", "--db", db])
    assert enrol.exit_code == 0 and enrol.output.startswith("hre_")
    missing = runner.invoke(main, ["hub", "token", "enrol", "nobody", "--db", db])
    assert missing.exit_code != 0 and "tenant 'nobody' not found" in missing.output
    clash = runner.invoke(main, ["hub", "tenant", "add", "home-1", "--role", "household",
                                 "--db", db])
    assert clash.exit_code != 0 and "Traceback" not in clash.output
    assert len(clash.output.strip().splitlines()) == 1
    bad_db = runner.invoke(main, ["hub", "migrate", "--db", "mysql://nowhere/x"])
    assert bad_db.exit_code != 0 and len(bad_db.output.strip().splitlines()) == 1
