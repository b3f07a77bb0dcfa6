"""The command line: help, version, unknown options, and the console script itself."""

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from na64tools import __version__
from na64tools.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"na64tools {__version__}"


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("demo", "info", "simulate", "run", "limits", "dashboard"):
        assert cmd in out


def test_no_command_prints_help_and_returns_2(capsys):
    assert main([]) == 2
    assert "usage: na64tools" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--bogus"], ["info", "--bogus"], ["nosuchcommand"]])
def test_unknown_option_exits_2_with_message(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and argv[-1] in err


def test_info_prints_units_and_sources(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "unit: GeV" in out and "PRL 132 (2024) 211803" in out and "sha256:" in out


def test_bad_setup_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "s.yaml"
    bad.write_text("name: x\n")
    assert main(["info", "--setup", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "missing required key" in err


def test_console_script_is_installed():
    script = Path(sysconfig.get_path("scripts")) / "na64tools"
    if not script.exists():
        pytest.skip("package not installed with its console script (pip install .)")
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"na64tools {__version__}"
    out = subprocess.run([sys.executable, "-m", "na64tools", "--bogus"], capture_output=True, text=True)
    assert out.returncode == 2 and "unrecognized arguments: --bogus" in out.stderr


def test_cli_executor_choices_match_run():
    from na64tools.cli.run import EXECUTORS
    from na64tools.runner import EXECUTORS as RUN_EXECUTORS

    assert tuple(EXECUTORS) == tuple(RUN_EXECUTORS)


def test_help_imports_no_heavy_stack():
    code = ("import sys, na64tools.cli as c; c.build_parser(); "
            "print(sorted(m for m in ('coffea', 'dask', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
