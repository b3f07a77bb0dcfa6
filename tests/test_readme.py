"""The README opens with the two commands, and CI runs the README's test command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_readme_opens_with_demo_and_test_commands():
    demo, tests = readme_commands()
    assert demo.endswith("na64tools demo")
    assert "pytest" in tests
    head = (ROOT / "README.md").read_text().splitlines()[:8]
    assert any("na64tools demo" in line for line in head)


def test_ci_runs_the_readme_test_command():
    _, tests = readme_commands()
    test_cmd = tests.split("&&")[-1].strip()
    install = tests.split("&&")[0].strip().replace("pip install", "python -m pip install --quiet")
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci.splitlines()
    assert install in ci
    assert "ruff check" in ci


def test_readme_binder_badge_opens_first_notebook():
    text = (ROOT / "README.md").read_text()
    assert "mybinder.org/badge_logo.svg" in text
    assert "labpath=notebooks%2F01_missing_momentum.ipynb" in text
    assert (ROOT / "notebooks" / "01_missing_momentum.ipynb").is_file()
