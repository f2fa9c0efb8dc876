"""``cifar-lab``: each subcommand is today's command line, reached through one entry point."""

from __future__ import annotations

import pytest

import cifar_lab
from training.cli import main as training_main


def test_help_lists_every_command_on_one_line_each(capsys):
    assert cifar_lab.main(["--help"]) == 0
    listing = capsys.readouterr().out
    for name in ("run", "suite", "suites", "models", "evaluate", "import", "report", "serve", "demo"):
        assert sum(line.startswith(f"  {name} ") for line in listing.splitlines()) == 1, listing


def test_a_training_command_prints_what_python_m_training_prints(capsys):
    assert cifar_lab.main(["models"]) == 0
    through_lab = capsys.readouterr().out
    assert training_main(["models"]) == 0
    assert through_lab == capsys.readouterr().out and "simple_cnn" in through_lab


@pytest.mark.parametrize(("argv", "usage"), [
    (["run", "--model", "simple_cnn", "--epochs", "x"], "usage: cifar-lab run"),  # not a number
    (["report"], "usage: cifar-lab report"),  # --out is required
    (["serve", "--workers", "x"], "usage: cifar-lab serve"),
    (["demo", "--port", "x"], "usage: cifar-lab demo"),
])
def test_bad_arguments_are_refused_by_the_owning_parser_under_the_lab_commands_name(argv, usage, capsys):
    with pytest.raises(SystemExit) as stopped:
        cifar_lab.main(argv)
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith(usage)


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys):
    assert cifar_lab.main([]) == 2
    assert "commands:" in capsys.readouterr().err
    assert cifar_lab.main(["trian"]) == 2
    assert "unknown command 'trian'" in capsys.readouterr().err
