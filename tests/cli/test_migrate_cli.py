"""``pixelfox migrate`` and ``pixelfox migrate --check`` as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from pixelfox_app import dbschema
from tests.cli.support import assert_one_line_error, cli_env, pixelfox, query
from tests.db.drift import drifted_migrations
from tests.support import ROOT, free_port


def test_migrate_brings_an_empty_database_up_showing_each_step(tmp_path):
    env = cli_env(tmp_path)

    result = pixelfox(env, "migrate")

    assert result.returncode == 0, result.stderr
    newest = dbschema.version_files("sqlite")[-1]
    assert "migrating sqlite database sqlite://" in result.stdout
    assert f"applying {newest}" in result.stdout
    assert result.stdout.rstrip().endswith("migration(s) applied")
    assert ("storage_pools",) in query(env, "SELECT name FROM sqlite_master WHERE type='table'")


def test_migrate_a_second_time_reports_up_to_date(tmp_path):
    env = cli_env(tmp_path)
    pixelfox(env, "migrate")

    again = pixelfox(env, "migrate")

    assert again.returncode == 0, again.stderr
    assert "applying" not in again.stdout
    assert again.stdout.rstrip().endswith("done: up to date")


def test_migrate_works_on_postgresql(tmp_path, postgres_url):
    result = pixelfox(cli_env(tmp_path, PIXELFOX_DATABASE_URL=postgres_url), "migrate")

    assert result.returncode == 0, result.stderr
    assert "postgres: 0 of" in result.stdout


def test_migrate_check_passes_for_both_dialects_and_touches_no_database(tmp_path):
    env = cli_env(tmp_path)

    result = pixelfox(env, "migrate", "--check")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "sqlite: models and migrations agree",
        "postgres: models and migrations agree",
    ]
    assert not (tmp_path / "pixelfox.sqlite3").exists()


def test_migrate_check_fails_when_a_model_change_has_no_migration(tmp_path):
    # The committed migrations agree with the models, so the disagreement is staged:
    # the CLI runs as a real process over a copy of the migrations that lacks a field.
    drifted = drifted_migrations(tmp_path, "sqlite")
    script = textwrap.dedent(
        f"""
        import pathlib, sys
        from pixelfox_app import dbschema
        dbschema.MIGRATIONS_DIR = pathlib.Path({str(drifted)!r})
        from pixelfox_cli.main import main
        sys.argv = ["pixelfox", "migrate", "--check"]
        main()
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        env=cli_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "postgres: models and migrations agree" in result.stdout
    assert "sqlite: the models differ from the migrations" in result.stderr
    assert 'ADD "region" VARCHAR(32)' in result.stderr
    assert (
        result.stderr.rstrip().splitlines()[-1].startswith("Error: models and migrations disagree")
    )


def test_migrate_on_an_unreachable_database_is_one_line_without_the_password(tmp_path):
    url = f"postgres://pixelfox:s3cret@127.0.0.1:{free_port()}/pixelfox"

    result = pixelfox(cli_env(tmp_path, PIXELFOX_DATABASE_URL=url), "migrate")

    line = assert_one_line_error(result, "cannot reach the database at postgres://pixelfox:***@")
    assert "s3cret" not in line


def test_migrate_where_no_sqlite_file_can_be_made_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = cli_env(tmp_path, PIXELFOX_DATABASE_URL=f"sqlite://{blocker}/pixelfox.sqlite3")

    result = pixelfox(env, "migrate")

    assert_one_line_error(result, "cannot open the SQLite database")
