"""The README's two set-up commands are the ones CI and users run, and every `kfbench` command in the README
and the guides (docs/) is one kfbench accepts as written; the cheap ones are run."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.helpers.cli import REPO
from tests.helpers.inprocess import run_main

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL = ("bash", "sh", "console", "")


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, fences paired in order."""
    blocks, language, body = [], None, []
    for line in text.splitlines():
        if line.startswith("```"):
            if language is None:
                language, body = line[3:].strip(), []
            else:
                blocks.append((language, "\n".join(body)))
                language = None
        elif language is not None:
            body.append(line)
    return blocks


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(python3 -m venv .*?)\n```", (REPO / "README.md").read_text())


def test_readme_has_one_line_setup_commands_for_demo_and_tests():
    demo, tests = readme_commands()
    assert demo.endswith("kfbench demo") and "pip install -e ." in demo
    assert tests.endswith("python -m pytest -n auto --dist worksteal")


def test_ci_runs_the_readme_test_command_verbatim():
    assert readme_commands()[1] in (REPO / ".ci" / "run").read_text()


def test_readme_stays_short():
    assert len((REPO / "README.md").read_text().splitlines()) <= 250


def shell_commands(block: str) -> list[list[str]]:
    """The commands of a shell block as words: continuations joined, comments dropped, `&&` chains split,
    `NAME="..."` assignments of the block substituted for `$NAME`."""
    variables: dict[str, str] = {}
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        if not re.match(r"(kfbench|[A-Z_]+=)", line.strip()):
            continue  # other programs' lines, and text blocks (layout trees, outputs)
        words = shlex.split(line, comments=True)
        if len(words) == 1 and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            name, value = words[0].split("=", 1)
            variables[name] = value
            continue
        words = [w for word in words for w in (shlex.split(variables[word[1:]]) if word[1:] in variables else [word])]
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            commands.append(words[:cut])
            words = words[cut + 1 :]
    return commands


def documented_commands() -> list[tuple[str, list[str]]]:
    """Every `kfbench ...` command in a fenced shell block of the README or a guide: (page, words)."""
    found = []
    for page in PAGES:
        for language, block in fenced_blocks(page.read_text()):
            if language not in SHELL:
                continue
            found += [(page.name, words) for words in shell_commands(block) if words and words[0] == "kfbench"]
    return found


COMMANDS = documented_commands()


def option_value(words: list[str], *names: str) -> str | None:
    for i, word in enumerate(words[:-1]):
        if word in names:
            return words[i + 1]
    return None


def test_the_docs_show_commands():
    pages = {page for page, _ in COMMANDS}
    assert {"README.md", "usage.md", "performance.md", "training.md"} <= pages, pages
    assert len(COMMANDS) > 40


@pytest.mark.parametrize("page, words", COMMANDS, ids=[f"{p}:{' '.join(w)[:60]}" for p, w in COMMANDS])
def test_documented_command_names_a_real_command_and_real_options(page, words):
    """The subcommand exists and every flag is one of its options, or an option of the method or dataset the
    command names (as `kfbench run` routes them)."""
    import typer.main

    from kfbench.cli import app
    from kfbench.registry import option_names

    group = typer.main.get_command(app)
    assert len(words) > 1 and words[1] in group.commands, f"{page}: no command '{words[1:2]}' in {' '.join(words)}"
    command = group.commands[words[1]]
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)} | {"--help"}
    method = option_value(words, "-m", "--method")
    dataset = option_value(words, "-d", "--dataset")
    if words[1:3] == ["list", "pairs"] and len(words) > 3:
        dataset = words[3]  # `kfbench list pairs DATASET --option value`: the dataset's options
    for word in words[2:]:
        if not word.startswith("-") or word in known:
            continue
        flag = word.split("=", 1)[0]
        if flag.startswith("--dataset.") and dataset:
            assert flag[len("--dataset.") :].replace("-", "_") in option_names("dataset", dataset), (page, words)
            continue
        name = flag.lstrip("-").replace("-", "_")
        extra = (option_names("method", method) if method else set()) | (
            option_names("dataset", dataset) if dataset else set()
        )
        assert flag in known or name in extra, f"{page}: {flag} is not an option of `kfbench {words[1]}`: {words}"


def cheap(words: list[str]) -> bool:
    """Listings, and the weight-free baselines on the synthetic set."""
    if words[1] == "list":
        return True
    return (
        words[1] == "run"
        and option_value(words, "-m", "--method") in ("linear", "flow")
        and option_value(words, "-d", "--dataset") == "synthetic"
    )


CHEAP = [(page, words) for page, words in COMMANDS if cheap(words)]


@pytest.mark.parametrize("page, words", CHEAP, ids=[f"{p}:{' '.join(w)[:60]}" for p, w in CHEAP])
def test_cheap_documented_commands_run_as_written(page, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative --out folders land here
    code, stdout, stderr = run_main(*words[1:])
    assert code == 0, f"{page}: {' '.join(words)}\n{stderr}"
    assert stdout.strip()
