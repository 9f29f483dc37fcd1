"""``pixelfox create-admin`` as a real process."""

from __future__ import annotations

from pixelfox_app.auth.passwords import verify_password
from tests.cli.support import assert_one_line_error, cli_env, migrated, pixelfox, query


def _password_hash(env, username):
    rows = query(env, "SELECT password_hash, is_admin FROM users WHERE username = ?", username)
    assert rows, f"no user {username}"
    return rows[0]


def test_create_admin_with_a_password_makes_an_admin_who_can_log_in(tmp_path):
    env = migrated(cli_env(tmp_path))

    result = pixelfox(env, "create-admin", "ada", "--password", "correct horse")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "admin 'ada' created"
    password_hash, is_admin = _password_hash(env, "ada")
    assert is_admin and verify_password(password_hash, "correct horse")


def test_create_admin_generate_prints_a_password_that_works(tmp_path):
    env = migrated(cli_env(tmp_path))

    result = pixelfox(env, "create-admin", "ada", "--generate")

    assert result.returncode == 0, result.stderr
    password = result.stdout.split("password: ", 1)[1].strip()
    assert len(password) >= 16
    assert verify_password(_password_hash(env, "ada")[0], password)


def test_create_admin_reads_the_password_from_a_prompt(tmp_path):
    env = migrated(cli_env(tmp_path))

    result = pixelfox(env, "create-admin", "ada", stdin="correct horse\ncorrect horse\n")

    assert result.returncode == 0, result.stderr
    assert verify_password(_password_hash(env, "ada")[0], "correct horse")


def test_create_admin_for_a_taken_name_is_one_line_and_update_resets_it(tmp_path):
    env = migrated(cli_env(tmp_path))
    pixelfox(env, "create-admin", "ada", "--password", "correct horse")

    refused = pixelfox(env, "create-admin", "ada", "--password", "other horse")
    assert_one_line_error(refused, "user 'ada' already exists", "--update")

    updated = pixelfox(env, "create-admin", "ada", "--password", "other horse", "--update")
    assert updated.returncode == 0, updated.stderr
    assert verify_password(_password_hash(env, "ada")[0], "other horse")


def test_create_admin_with_a_short_password_is_one_line_and_stores_nothing(tmp_path):
    env = migrated(cli_env(tmp_path))

    result = pixelfox(env, "create-admin", "ada", "--password", "short")

    assert_one_line_error(result, "at least 8 characters")
    assert query(env, "SELECT COUNT(*) FROM users") == [(0,)]


def test_commands_on_a_database_without_schema_say_to_migrate(tmp_path):
    result = pixelfox(cli_env(tmp_path), "create-admin", "ada", "--password", "correct horse")

    assert_one_line_error(result, "run 'pixelfox migrate' first")
    assert not (tmp_path / "pixelfox.sqlite3").exists()
