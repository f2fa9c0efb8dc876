"""Command line: ``python -m training models | suites | run | suite | evaluate | import``.

Examples::

    python -m training models
    python -m training run --model simple_cnn --blocks 1 --epochs 3 --train-limit 5000   # 41% in about 30 s on 2 cores
    python -m training run --model vgg16_transfer --weights none --run-id vgg-try
    python -m training suite demo --dry-run
    python -m training suite demo --executor ray                 # runs in parallel on Ray
    python -m training evaluate simple_cnn-20260101-120000
    python -m training import notebook.keras --name my-notebook --preprocessing unit --history training_log.csv

Bad values exit with status 2 and a message listing what is valid; failures
while training exit with status 1 and a sentence saying what to do.

``models``, ``suites`` and ``suite --dry-run`` never import TensorFlow (the plan's
speed probes run in a child process, ``training.speed_probe``, and are cached); the
other commands start it with its start-up logs hidden (see ``training.quiet``)
unless ``--verbose`` is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import typing

from training.config import ConfigError, RunConfig
from training.quiet import start_tensorflow
from training.registry import REGISTRY, STUDY_DEFAULTS, model_names, option_models, option_names, option_values

USAGE_ERROR = 2
RUN_ERROR = 1


def _number(kind: type):
    """An argparse type that parses ``kind`` only; whether the value is in range is ``RunConfig.validate``'s to say."""
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            example = "0.001" if kind is float else "3"
            raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a number such as {example}") from None
    parse.__name__ = kind.__name__
    return parse


def add_run_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per ``RunConfig`` field, with the help, name and valid values the field declares (``training.config.knob``).

    Every flag defaults to "not given" (``SUPPRESS``), so the run gets only what the
    user set and everything else from ``RunConfig``, the registry and the model's recipe;
    values are checked once, by ``RunConfig.validate``.
    """
    hints = typing.get_type_hints(RunConfig)
    for item in dataclasses.fields(RunConfig):
        meta = item.metadata
        if meta.get("flag") is None:
            continue
        name = meta["flag"] if isinstance(meta["flag"], str) else "--" + item.name.replace("_", "-")
        kinds = [kind for kind in typing.get_args(hints[item.name]) or (hints[item.name],) if kind is not type(None)]
        help_text = meta["help"] + _shown_default(item)
        choices = meta["choices"] or (option_values(item.name) if option_models(item.name) else None)
        if choices:
            help_text += f"; one of {', '.join(map(str, choices))}"
        if option_models(item.name):
            help_text += f" ({', '.join(option_models(item.name))} only)"
        if kinds == [bool]:
            # A switch that is on by default is turned off with --no-NAME; one that is off is turned on by --NAME.
            on = item.default is True
            parser.add_argument(f"--no-{name[2:]}" if on else name, *meta["aliases"], dest=item.name, action="store_const",
                                const=not on, default=argparse.SUPPRESS, help=help_text)
            continue
        kind = kinds[0]
        parser.add_argument(name, *meta["aliases"], dest=item.name, default=argparse.SUPPRESS, help=help_text,
                            type=_number(kind) if kind in (int, float) else None, metavar=meta["metavar"],
                            required=item.default is dataclasses.MISSING)


def _flags_named_in(message: str) -> str:
    """`` (flag --lr)`` for each RunConfig field a validation message names, so the user knows what to change."""
    named = []
    for item in dataclasses.fields(RunConfig):
        flag = item.metadata.get("flag")
        if flag and re.search(rf"\b{item.name}\b", message):
            named.append(flag if isinstance(flag, str) else "--" + item.name.replace("_", "-"))
    return f" (flag {', '.join(named)})" if named else ""


def _shown_default(item: dataclasses.Field) -> str:
    """`` (default X)`` for a field with a fixed default; a field whose None the registry fills says so."""
    if item.default is dataclasses.MISSING or isinstance(item.default, bool):
        return ""
    if item.default is None:
        return " (default: the model's recipe)" if item.name in (*STUDY_DEFAULTS, *option_names()) else ""
    return f" (default {item.default:g})" if isinstance(item.default, float) else f" (default {item.default})"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _seed_list(text: str) -> list[int]:
    from training.replicates import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _model_name(text: str) -> str:
    if text not in REGISTRY:
        raise argparse.ArgumentTypeError(f"unknown model {text!r}; valid models: {', '.join(model_names())}")
    return text


def _add_executor_flags(parser: argparse.ArgumentParser) -> None:
    """--executor, --address, --cpus-per-run (see training.executors)."""
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="local: one run after another here (default); ray: each run a Ray task, in parallel")
    parser.add_argument("--address", help="ray only: join the Ray cluster at HOST:PORT or 'auto' (default: start Ray on this machine)")
    parser.add_argument("--cpus-per-run", type=_positive_int, default=2,
                        help="ray only: CPUs each run asks for when the cluster has no GPU (default 2; with GPUs a run asks for 1 GPU and 1 CPU)")


def _make_executor(arguments: argparse.Namespace):
    from training.executors import ExecutorSettings, make_executor

    if arguments.executor != "ray" and arguments.address:
        raise ConfigError("--address applies to --executor ray only")
    return make_executor(arguments.executor, ExecutorSettings(address=arguments.address, cpus_per_run=arguments.cpus_per_run))


def check_data_for(configs) -> None:
    """Load the data each run reads (once per folder) and check each run's split fits it, before any run starts.

    A damaged CIFAR-10 folder or a too-large ``--validation-size`` then stops the
    command with one message and nothing under ``runs/``, instead of one failed run
    folder per replicate. The loaded arrays stay in ``training.data``'s memo, so a
    run in this process does not read them again.
    """
    from training.data import load_cifar10, split_problem

    loaded = {}
    for config in configs:
        if config.data_dir not in loaded:
            loaded[config.data_dir] = load_cifar10(config.data_dir)
        problem = split_problem(loaded[config.data_dir], config.validation_size)
        if problem:
            raise ConfigError(f"{config.run_id}: {problem}")


def build_parser(prog: str = "python -m training") -> argparse.ArgumentParser:
    """The argument parser with every subcommand and its help (``prog``: the command's name in usage lines)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Train CIFAR-10 models and write run folders to the artifacts folder.",
        epilog="Data: CIFAR10_DIR or --data-dir names a cifar-10-batches-py folder. Artifacts: ARTIFACTS_DIR or --artifacts-dir.",
    )
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up logs (hidden by default)")
    # Also accepted after the command; SUPPRESS keeps the subcommand from resetting a --verbose given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="show TensorFlow's start-up logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("models", help="list the registered models", description="List the registered models with their defaults.")
    commands.add_parser("suites", help="list the suites in training/suites.json", description="List the suites and their runs.")

    run = commands.add_parser("run", parents=[common], help="train one model", description="Train one model and print its run folder.")
    add_run_config_flags(run)
    run.add_argument("--seeds", type=_seed_list, metavar="LIST",
                     help="train one replicate per seed, e.g. 0,1,2 or 0-4: runs <run-id>-s<seed> sharing one group")
    run.add_argument("--no-time-budget", action="store_true",
                     help="train every planned epoch however long it takes (overrides fast_cnn's 885 s budget)")
    _add_executor_flags(run)

    suite = commands.add_parser("suite", parents=[common], help="train every run of a suite", description="Train a suite's runs in order, skipping complete ones.")
    suite.add_argument("name", help="suite name (see `python -m training suites`)")
    suite.add_argument("--dry-run", action="store_true",
                       help="print the plan with each run's images, passes, evaluations and estimated time here, and exit "
                            "(the first plan on a machine probes each model for a few seconds; cached under the artifacts folder)")
    suite.add_argument("--no-estimate", action="store_true", help="with --dry-run: print the plan without measuring or estimating time")
    suite.add_argument("--only", type=_model_name, help="only the runs of this model")
    suite.add_argument("--artifacts-dir", help="where run folders go (default: $ARTIFACTS_DIR or ./artifacts)")
    suite.add_argument("--data-dir", help="cifar-10-batches-py folder (default: $CIFAR10_DIR or Keras' cache)")
    _add_executor_flags(suite)

    evaluate = commands.add_parser("evaluate", parents=[common], help="re-evaluate a saved run on the test set", description="Recompute a run's test predictions from its model.keras.")
    evaluate.add_argument("run", help="run id or run folder")
    evaluate.add_argument("--artifacts-dir", help="where run folders are (default: $ARTIFACTS_DIR or ./artifacts)")
    evaluate.add_argument("--data-dir", help="cifar-10-batches-py folder (default: the run's, $CIFAR10_DIR or Keras' cache)")
    _add_import_command(commands, common)
    return parser


def _add_import_command(commands, common: argparse.ArgumentParser) -> None:
    """``import``: bring a model trained elsewhere into the lab (see ``training.importer``)."""
    from runstore.preprocessing import PREPROCESSING_MODES  # NumPy only

    command = commands.add_parser(
        "import", parents=[common], help="import a .keras or .h5 model trained elsewhere as a run",
        description="Load a whole-model .keras or .h5 file in Keras safe mode, evaluate it on the CIFAR-10 test set "
                    "and write a complete run folder. Files with Lambda layers or custom code are refused.",
    )
    command.add_argument("model_file", metavar="MODEL_FILE", help="the .keras or .h5 file saved with model.save(...)")
    command.add_argument("--name", required=True, help="run id for the imported model (letters, digits, '.', '_', '-')")
    command.add_argument("--preprocessing", required=True, choices=list(PREPROCESSING_MODES),
                         help="what the model expects: raw (0-255, it scales itself), unit (/255), tf (-1..1), caffe, torch")
    command.add_argument("--history", help="a keras.callbacks.CSVLogger file or a TensorBoard log folder, for the curves")
    command.add_argument("--config", type=_json_object, help='hyperparameters to show on the Overview, as JSON: \'{"epochs": 10}\'')
    command.add_argument("--artifacts-dir", help="where run folders go (default: $ARTIFACTS_DIR or ./artifacts)")
    command.add_argument("--data-dir", help="cifar-10-batches-py folder (default: $CIFAR10_DIR or Keras' cache)")
    command.add_argument("--progress-file", metavar="PATH",
                         help='keep PATH updated with {"stage", "done", "total"} as JSON, for a progress bar in another process')


def _json_object(text: str) -> dict:
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error.msg}); quote it like '{{\"epochs\": 10}}'") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('must be a JSON object such as {"epochs": 10}')
    return value


def _import(arguments: argparse.Namespace) -> None:
    start_tensorflow(arguments.verbose)
    from training.importer import import_model

    folder = import_model(arguments.model_file, arguments.name, arguments.preprocessing, history=arguments.history,
                          artifacts_dir=arguments.artifacts_dir, data_dir=arguments.data_dir, config=arguments.config,
                          progress_file=arguments.progress_file)
    print(folder)


def _list_models() -> None:
    for spec in REGISTRY.values():
        defaults = spec.defaults
        print(f"{spec.name:<20} {spec.input_size:>3}px  {defaults['optimizer']} lr={defaults['learning_rate']:g} "
              f"epochs={defaults['epochs']} weights={defaults['weights']}\n{'':<20} {spec.description}")


def _list_suites() -> None:
    from training.suites import load_suites

    for name, entry in load_suites().items():
        print(f"{name:<8} {len(entry.get('runs', []))} runs  {entry.get('description', '')}")


def _run(arguments: argparse.Namespace) -> int:
    import time

    from training.replicates import expand_seeds

    # Only what the user set (the config flags default to "not given"): the rest comes from RunConfig and the registry.
    config_fields = {item.name for item in dataclasses.fields(RunConfig)}
    values = {key: value for key, value in vars(arguments).items() if key in config_fields}
    if arguments.no_time_budget:
        values["time_budget_seconds"] = None  # explicit: overrides a recipe's budget
    if arguments.seeds and "run_id" not in values:
        # One timestamped base for every replicate, so the seeds' run ids share it.
        values["run_id"] = f"{arguments.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    # Every replicate is validated before the first one trains, and before TensorFlow's seconds of start-up.
    configs = [RunConfig.from_dict(replicate) for replicate in expand_seeds(values, arguments.seeds)]
    local = arguments.executor == "local" and not arguments.address
    if not arguments.address:  # a remote cluster's workers read their own copy of the data
        check_data_for(configs)
    if local:
        start_tensorflow(arguments.verbose)  # before training.train imports it
    if len(configs) == 1 and local:
        from training.train import run_training

        print(run_training(configs[0]))
        return 0
    from training.executors import is_failure, summary_lines

    # Replicates go through an executor: one failing (recorded in its run.json) does not stop the others.
    outcomes = _make_executor(arguments).run(configs)
    print("\n".join(summary_lines("Runs", outcomes)))
    return RUN_ERROR if any(is_failure(outcome) for _, outcome in outcomes) else 0


def _suite(arguments: argparse.Namespace) -> int:
    from training.executors import is_failure, summary_lines
    from runstore.status import STATUS_COMPLETE
    from training.run_state import planned_status
    from training.suites import describe_plan, describe_questions, drop_unmet_requirements, get_suite, run_suite

    suite = get_suite(arguments.name, only=arguments.only, artifacts_dir=arguments.artifacts_dir, data_dir=arguments.data_dir)
    # A plan looks in the cache only; a real run also tries to download.
    suite, skipped = drop_unmet_requirements(suite, download=not arguments.dry_run)
    executor = _make_executor(arguments)
    estimates, summary = (None, []) if not arguments.dry_run or arguments.no_estimate else _estimate(suite, arguments.artifacts_dir)
    print(describe_plan(suite, estimates), flush=True)
    for title, reason in skipped.items():
        print(f"\nSkipped question {title!r}: {reason}", flush=True)
    if arguments.dry_run:
        questions = describe_questions(suite)
        print("\n".join(["", *([questions, ""] if questions else []), *summary, executor.describe(list(suite.runs))]))
        return 0
    if not arguments.address:
        check_data_for([config for config in suite.runs if planned_status(config) != STATUS_COMPLETE])
    if suite.questions:
        from runstore import resolve_artifacts_dir
        from runstore.suite_record import write_suite_record

        # Recorded first, so the dashboard can show the questions while their runs train.
        questions = [{**question, **({"skipped": skipped[question["title"]]} if question["title"] in skipped else {})}
                     for question in suite.questions]
        write_suite_record(resolve_artifacts_dir(arguments.artifacts_dir), suite.name, suite.description, questions)
    if arguments.executor == "local" and not arguments.address:
        start_tensorflow(arguments.verbose)
    outcomes = run_suite(suite, executor)
    print("\n" + "\n".join(summary_lines(f"Suite {suite.name}", outcomes)))
    return RUN_ERROR if any(is_failure(outcome) for _, outcome in outcomes) else 0


def _estimate(suite, artifacts_dir: str | None) -> tuple[dict, list[str]]:
    """Each run's estimate and the plan's summary sentences, from speed probes cached per machine (or measured now)."""
    from runstore import resolve_artifacts_dir
    from training.plan_estimate import estimate_suite, probe_note, summary_lines
    from training.speed_probe import ProbeKey, cache_path, probe_figures

    def progress(text: str) -> None:
        print(text, flush=True)

    artifacts = resolve_artifacts_dir(artifacts_dir)
    figures = probe_figures([ProbeKey.of(config) for config in suite.runs], artifacts, progress=progress)
    start = max((entry.get("tensorflow_start_seconds") or 0 for entry in figures.values()), default=0)
    estimates = estimate_suite(suite, figures)
    return estimates, [*summary_lines(suite, estimates, start_seconds=start), probe_note(figures, cache_path(artifacts))]


def main(argv: list[str] | None = None, prog: str = "python -m training") -> int:
    """Parse ``argv`` and run the command; return the exit status (``prog``: as ``build_parser``)."""
    arguments = build_parser(prog).parse_args(argv)
    arguments.verbose = getattr(arguments, "verbose", False)
    try:
        if arguments.command == "models":
            _list_models()
        elif arguments.command == "suites":
            _list_suites()
        elif arguments.command == "run":
            return _run(arguments)
        elif arguments.command == "suite":
            return _suite(arguments)
        elif arguments.command == "evaluate":
            start_tensorflow(arguments.verbose)
            from training.evaluate import evaluate_run

            evaluate_run(arguments.run, arguments.artifacts_dir, arguments.data_dir)
        elif arguments.command == "import":
            _import(arguments)
    except ConfigError as error:
        print(f"error: {error}{_flags_named_in(str(error))}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("Stopped. Run the same command again to resume from the last finished epoch.", file=sys.stderr)
        return 130
    except (RuntimeError, ValueError, OSError) as error:
        # DataError, WeightsError, TrainingError, EvaluationError all carry a sentence for the user.
        print(f"error: {error}", file=sys.stderr)
        return RUN_ERROR
    return 0
