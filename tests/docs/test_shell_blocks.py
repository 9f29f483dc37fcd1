"""Every command in the README and docs/ works when pasted from a clean clone.

The shell blocks (```sh, ```bash, ```console: its ``$`` lines) of README.md,
docs/*.md and the lab's README are split into commands; each program must
exist (a path in the repository or its virtualenv, a program on this machine,
or ``pixelfox-admin``, which the roles install on the app host), each
repository path it names must exist (or be made by an earlier command of the
same document), and the cheap ones are run: ``pixelfox …`` and
``python -m pixelfox_lab …`` subcommands must exist (their ``--help``).
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support import ROOT

DOCUMENTS = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), ROOT / "pixelfox_lab/README.md"])
FENCE = re.compile(r"^ *```(sh|bash|shell|console)\n(.*?)^ *```", re.S | re.M)
# Installed by the roles on the app host: the CLI with the app's settings.
HOST_PROGRAMS = {"pixelfox-admin"}
SHELL_WORDS = {"read", "echo", "cd", "export", "printf", "set", "source", "."}
# Words of the shell's grammar before a command (`until curl …; do sleep 1; done`): the command.
SHELL_KEYWORDS = {"if", "then", "elif", "else", "fi", "while", "until", "do", "done"}
# What a clean clone's controller has only inside the virtualenv (scripts/install).
VENV_ONLY = {"python", "python3", "pip", "ansible-playbook", "ansible-vault", "pixelfox"}
REPO_DIRS = ("inventory/", "playbooks/", "docs/", "scripts/", "roles/", "tests/", "bench/",
             "templates/", "build/", "pixelfox_")  # fmt: skip
SEPARATORS = {"|", "||", "&&", ";", "&"}


@dataclass(frozen=True)
class Command:
    document: Path
    argv: list[str]

    def __str__(self) -> str:
        return f"{self.document.relative_to(ROOT)}: {shlex.join(self.argv)}"


def _lines(block: str, console: bool) -> Iterator[str]:
    text = block.replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if console:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        if line and not line.startswith("#"):
            yield line


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def shell_blocks(text: str) -> Iterator[tuple[str, str]]:
    """The shell blocks of a Markdown text: (language, body), in order."""
    for match in FENCE.finditer(text):
        yield match.group(1), match.group(2)


def commands(document: Path) -> Iterator[Command]:
    for language, body in shell_blocks(document.read_text()):
        for line in _lines(body, language == "console"):
            words: list[str] = []
            for word in [*_words(line), ";"]:
                if word not in SEPARATORS:
                    words.append(word)
                    continue
                # NAME=$(command …): the command; NAME=value alone only sets a variable.
                if words and (sub := re.match(r"^[A-Za-z_]\w*=\$\((.+)$", words[0])):
                    words = [sub.group(1), *words[1:]]
                    words[-1] = words[-1].removesuffix(")")
                while words and words[0] in SHELL_KEYWORDS:
                    words.pop(0)
                while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
                    words.pop(0)
                if words:
                    yield Command(document, words)
                words = []


ALL = [c for d in DOCUMENTS for c in commands(d)]


def _made_by(earlier: list[Command]) -> set[str]:
    """Repository paths the earlier commands of a document create."""
    made: set[str] = set()
    for command in earlier:
        argv = command.argv
        if argv[:2] == ["cp", "-r"] and len(argv) == 4:
            made.add(argv[3].rstrip("/"))
        for flag in ("--wheel-dir", "--file"):
            if flag in argv[:-1]:
                made.add(argv[argv.index(flag) + 1].rstrip("/"))
    return made


def _exists(path: str, made: set[str]) -> bool:
    clean = path.removeprefix("./").rstrip("/")
    # The operator's own inventory is a copy of the example (README, docs/operations.md).
    example = re.sub(r"^inventory/production(?=/|$)", "inventory/production.example", clean)
    return (
        (ROOT / clean).exists()
        or (ROOT / example).exists()
        or any(clean == m or clean.startswith(m + "/") for m in made)
    )


def _repo_path(word: str) -> bool:
    return word.startswith(REPO_DIRS) or (
        word.endswith((".yml", ".yaml")) and "=" not in word and not word.startswith("/")
    )


def problems(command: Command, earlier: list[Command]) -> list[str]:
    argv = command.argv
    program = argv[0]
    found: list[str] = []
    if program.startswith("$") or program in SHELL_WORDS:
        return found
    if program in VENV_ONLY:
        found.append(f"{program!r} is only in the virtualenv: write .venv/bin/{program}")
    elif "/" in program:
        if not (ROOT / program.removeprefix("./")).exists():
            found.append(f"no program {program}")
    elif program not in HOST_PROGRAMS and shutil.which(program) is None:
        found.append(f"no program {program!r} on a Debian controller")
    made = _made_by([*earlier, command])
    for word in argv[1:]:
        if _repo_path(word) and not _exists(word, made):
            found.append(f"no {word} in the repository")
    # `pixelfox_lab exec controller -- COMMAND` runs COMMAND in this repository.
    if argv[1:4] == ["-m", "pixelfox_lab", "exec"] and argv[4:6] == ["controller", "--"]:
        found += problems(Command(command.document, argv[6:]), earlier)
        return found
    if "python" in program.rsplit("/", 1)[-1] and "-m" in argv[:-1]:  # not install -m 0600
        module = argv[argv.index("-m") + 1]
        if importlib.util.find_spec(module) is None:
            found.append(f"no module {module}")
    vault = "--ask-vault-pass" in argv or "--vault-password-file" in " ".join(argv)
    if program.endswith("ansible-playbook") and "inventory/production" in argv and not vault:
        found.append("the production secrets are encrypted: add --ask-vault-pass")
    return found


def _subcommand(argv: list[str]) -> list[str]:
    words = []
    for word in argv:
        if word.startswith("-") or word.startswith("$"):
            break
        words.append(word)
    return words[:3]


def cli_problem(command: Command) -> str | None:
    """Runs ``--help`` of a pixelfox or pixelfox_lab subcommand; None when it exists."""
    argv = command.argv
    if argv[0] in ("pixelfox-admin", ".venv/bin/pixelfox"):
        from pixelfox_cli.main import cli

        words = _subcommand(argv[1:])
    elif argv[:3] == [".venv/bin/python", "-m", "pixelfox_lab"]:
        from pixelfox_lab.cli import cli

        words = _subcommand(argv[3:])
    else:
        return None
    # Positional arguments after the subcommand are fine: --help is read first.
    result = CliRunner().invoke(cli, [*words, "--help"])
    if result.exit_code != 0:
        return f"{shlex.join(words)}: {result.output.strip().splitlines()[-1:]}"
    return None


def test_the_documents_have_commands_to_check() -> None:
    assert len(ALL) > 20
    assert any(c.argv[0] == "pixelfox-admin" for c in ALL)


@pytest.mark.parametrize("command", ALL, ids=str)
def test_each_documented_command_exists_as_written(command: Command) -> None:
    earlier = [c for c in ALL if c.document == command.document]
    earlier = earlier[: earlier.index(command)]
    found = problems(command, earlier)
    if not found and (problem := cli_problem(command)):
        found.append(problem)
    assert not found, f"{command}: {'; '.join(found)}"


def test_the_check_catches_what_an_operator_falls_into(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\n"
        "ansible-playbook -i inventory/production playbooks/drain-storage-node.yml\n"
        "python -m pixelfox_lab up\n"
        ".venv/bin/ansible-playbook -i inventory/lab.yml site.yml\n"
        "```\n"
    )
    found = [problems(c, []) for c in commands(page)]
    assert "only in the virtualenv" in found[0][0] and "--ask-vault-pass" in found[0][1]
    assert "only in the virtualenv" in found[1][0]
    assert found[2] == [
        "no inventory/lab.yml in the repository",
        "no site.yml in the repository",
    ]


def test_a_loop_is_checked_command_by_command(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```sh\nuntil curl -sf https://example.org; do sleep 1; done\n```\n")
    assert [c.argv[0] for c in commands(page)] == ["curl", "sleep"]
