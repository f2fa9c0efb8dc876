"""``cifar-lab``: the lab's one command, installed by ``pip install .`` (or ``-e .``).

    cifar-lab models                              # = python -m training models
    cifar-lab run --model simple_cnn --epochs 3   # = python -m training run ...
    cifar-lab report --out report.html            # = python -m analysis report ...
    cifar-lab serve --workers 1                   # = python -m dashboard.serve ...
    cifar-lab demo                                # = python -m lab_demo ...
    cifar-lab publish --out space/                # = python -m dashboard publish ...

Each subcommand hands the rest of the command line to the module that owns it,
which parses it (``cifar-lab run --help`` is ``python -m training run --help``),
so the options live in one place. Nothing heavy is imported until a command is
chosen: ``cifar-lab --help`` and ``cifar-lab models`` never start TensorFlow.
Run folders go to ``--artifacts-dir``, else ``$ARTIFACTS_DIR``, else
``./artifacts`` of the current folder (the checkout's ``artifacts/`` when the
lab runs from a checkout; see ``runstore.layout.default_artifacts_dir``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

PROG = "cifar-lab"


def _training(command: str) -> Callable[[list[str]], int]:
    def run(arguments: list[str]) -> int:
        from training.cli import main

        return main([command, *arguments], prog=PROG)

    return run


def _report(arguments: list[str]) -> int:
    from analysis.__main__ import main

    return main(["report", *arguments], prog=PROG)


def _serve(arguments: list[str]) -> int:
    from dashboard.serve import main

    return main(arguments, prog=f"{PROG} serve")


def _demo(arguments: list[str]) -> int:
    from lab_demo import main

    return main(arguments, prog=f"{PROG} demo")


def _publish(arguments: list[str]) -> int:
    from dashboard.publish import main

    return main(arguments, prog=f"{PROG} publish")


# name: (one line of help, what it is today, the function that runs it with the remaining arguments)
COMMANDS: dict[str, tuple[str, str, Callable[[list[str]], int]]] = {
    "run": ("train one model", "python -m training run", _training("run")),
    "suite": ("train every run of a suite, skipping complete ones", "python -m training suite", _training("suite")),
    "suites": ("list the suites", "python -m training suites", _training("suites")),
    "models": ("list the registered models", "python -m training models", _training("models")),
    "evaluate": ("re-evaluate a saved run on the test set", "python -m training evaluate", _training("evaluate")),
    "import": ("import a .keras or .h5 model trained elsewhere as a run", "python -m training import",
               _training("import")),
    "report": ("write the self-contained HTML report of the runs", "python -m analysis report", _report),
    "serve": ("serve the dashboard", "python -m dashboard.serve", _serve),
    "demo": ("serve the dashboard and train a suite behind it", "python -m lab_demo", _demo),
    "publish": ("write a read-only Hugging Face Space of chosen runs", "python -m dashboard publish", _publish),
}


def help_text() -> str:
    """The top-level help: one line per subcommand."""
    width = max(map(len, COMMANDS))
    lines = [f"usage: {PROG} COMMAND [ARGUMENTS...]", "",
             "Train CIFAR-10 models, write run folders and explore them in the dashboard.",
             f"`{PROG} COMMAND --help` lists a command's options.", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary} ({today})" for name, (summary, today, _) in COMMANDS.items()]
    lines += ["", "Run folders: --artifacts-dir, else $ARTIFACTS_DIR, else ./artifacts of the current folder.",
              "Data: --data-dir, else $CIFAR10_DIR (a cifar-10-batches-py folder), else Keras' download cache."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand ``argv`` names with the rest of ``argv``; return its exit status."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if not arguments:
        print(help_text(), file=sys.stderr)
        return 2
    if arguments[0] in ("-h", "--help", "help"):
        print(help_text())
        return 0
    name, rest = arguments[0], arguments[1:]
    if name not in COMMANDS:
        print(f"{PROG}: unknown command {name!r}; the commands are: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return COMMANDS[name][2](rest)


if __name__ == "__main__":
    sys.exit(main())
