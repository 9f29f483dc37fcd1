"""`pixelfox secrets init`: one vault-encryptable file with every secret the roles need."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pixelfox_cli.main import cli
from pixelfox_cli.secrets import GENERATED, NODES_KEY, PUBLIC_KEY, SIGNING_KEY
from pixelfox_protocol.tokens import public_key_of

pytestmark = pytest.mark.ansible


def init(path: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["secrets", "init", "--file", str(path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def refused(path: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["secrets", "init", "--file", str(path), *args])
    assert result.exit_code != 0
    return result.output


def test_init_writes_every_secret_the_roles_need_into_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "group_vars" / "all" / "secrets.yml"

    init(path)

    values = yaml.safe_load(path.read_text())
    assert set(values) == {*GENERATED, PUBLIC_KEY, NODES_KEY}
    assert all(values[name] for name in GENERATED)
    assert values[PUBLIC_KEY] == public_key_of(values[SIGNING_KEY])
    assert values[NODES_KEY] == {}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_second_init_keeps_the_file_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    init(path)
    before = path.read_bytes()

    output = init(path)

    assert "nothing added" in output
    assert path.read_bytes() == before


def test_init_adds_only_a_missing_entry_and_keeps_the_others_and_comments(
    tmp_path: Path,
) -> None:
    path = tmp_path / "secrets.yml"
    init(path)
    text = path.read_text()
    kept = yaml.safe_load(text)
    lines = [ln for ln in text.splitlines() if not ln.startswith("pixelfox_link_secret:")]
    path.write_text("# operator's note\n" + "\n".join(lines) + "\n")

    output = init(path)

    values = yaml.safe_load(path.read_text())
    assert "pixelfox_link_secret" in output
    assert (
        values["pixelfox_link_secret"]
        and values["pixelfox_link_secret"] != kept["pixelfox_link_secret"]
    )
    assert {k: v for k, v in values.items() if k != "pixelfox_link_secret"} == {
        k: v for k, v in kept.items() if k != "pixelfox_link_secret"
    }
    assert path.read_text().startswith("# operator's note\n")


def test_nodes_get_explicit_credentials_added_into_the_existing_map(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    init(path, "--nodes", "s01,s02")
    first = yaml.safe_load(path.read_text())[NODES_KEY]

    init(path, "--nodes", "s02 s03")

    nodes = yaml.safe_load(path.read_text())[NODES_KEY]
    assert set(nodes) == {"s01", "s02", "s03"}
    assert nodes["s01"] == first["s01"] and nodes["s02"] == first["s02"]
    assert len(set(nodes.values())) == 3


def test_a_public_key_without_its_signing_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    init(path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(ln for ln in lines if not ln.startswith(SIGNING_KEY)) + "\n")
    before = path.read_bytes()

    output = refused(path)

    assert PUBLIC_KEY in output
    assert path.read_bytes() == before


def test_a_public_key_of_another_signing_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    init(path)
    other = tmp_path / "other.yml"
    init(other)
    foreign = yaml.safe_load(other.read_text())[PUBLIC_KEY]
    text = path.read_text()
    path.write_text(text.replace(yaml.safe_load(text)[PUBLIC_KEY], foreign))

    assert "does not belong" in refused(path)


def test_an_encrypted_file_is_refused_with_how_to_proceed(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    path.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636465\n")

    output = refused(path)

    assert "ansible-vault decrypt" in output
    assert path.read_text().startswith("$ANSIBLE_VAULT")


def test_a_bad_node_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"

    assert "not a node id" in refused(path, "--nodes", "S01,../x")
    assert not path.exists()


def test_show_prints_the_admin_password_plainly(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    init(path)

    shown = CliRunner().invoke(cli, ["secrets", "show", "--file", str(path)])

    assert shown.exit_code == 0, shown.output
    password = yaml.safe_load(path.read_text())["pixelfox_admin_password"]
    # The value itself: no YAML quotes around it.
    assert shown.output == f"{password}\n"


def test_show_decrypts_a_vault_file_with_ansible_vault(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "secrets.yml"
    init(path)
    password = yaml.safe_load(path.read_text())["pixelfox_admin_password"]
    vault_password = tmp_path / "vault-password"
    vault_password.write_text("correct horse\n")
    vault = str(Path(sys.executable).parent / "ansible-vault")
    subprocess.run(
        [vault, "encrypt", "--vault-password-file", str(vault_password), str(path)], check=True
    )

    shown = CliRunner().invoke(
        cli,
        ["secrets", "show", "--file", str(path)],
        env={"ANSIBLE_VAULT_PASSWORD_FILE": str(vault_password)},
    )

    assert shown.exit_code == 0, shown.output
    assert shown.output.strip().splitlines()[-1] == password


def test_show_names_what_the_file_has_when_the_secret_is_not_there(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    init(path)

    shown = CliRunner().invoke(cli, ["secrets", "show", "nope", "--file", str(path)])

    assert shown.exit_code != 0
    assert "has no nope" in shown.output and "pixelfox_admin_password" in shown.output
