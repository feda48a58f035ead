"""The README's two commands are the ones CI and users run."""

import re

from tests.helpers.cli import REPO


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(python3 -m venv .*?)\n```", (REPO / "README.md").read_text())


def test_readme_has_one_line_setup_commands_for_demo_and_tests():
    demo, tests = readme_commands()
    assert demo.endswith("kfbench demo") and "pip install -e ." in demo
    assert tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    assert readme_commands()[1] in (REPO / ".ci" / "run").read_text()
