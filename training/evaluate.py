"""Re-evaluate a saved run on the test set: ``python -m training evaluate RUN``.

Loads ``model.keras`` (safe mode, after checking its SHA-256 against run.json),
predicts the test images (with flip test-time augmentation when the run used
it), and rewrites ``predictions.npz`` and the test figures in ``run.json``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from runstore import MODEL_FILE, RUN_FILE, RunRecord, resolve_artifacts_dir, run_dir, write_predictions
from runstore.reader import BrokenRun, read_run_record


class EvaluationError(RuntimeError):
    """A run cannot be re-evaluated; the message says why and what to do."""


def find_run_folder(run: str, artifacts_dir: str | None = None) -> Path:
    """``run`` as a run folder path, else as a run id under the artifacts folder."""
    candidate = Path(run).expanduser()
    if (candidate / RUN_FILE).is_file():
        return candidate
    try:
        folder = run_dir(resolve_artifacts_dir(artifacts_dir), run)
    except ValueError as error:
        raise EvaluationError(f"{run!r} is neither a run folder nor a valid run id: {error}") from None
    if not (folder / RUN_FILE).is_file():
        raise EvaluationError(f"No run {run!r} in {folder.parent}. List runs with: ls {folder.parent}")
    return folder


def evaluate_run(run: str, artifacts_dir: str | None = None, data_dir: str | None = None, verbose: int = 1) -> dict:
    """Recompute the test predictions of ``run`` from its saved model; return the updated run.json payload."""
    import keras

    import training.layers  # noqa: F401  (custom layers must be registered before loading)
    from training.data import load_test_set
    from training.pipeline import make_eval_dataset
    from training.train import predict_probabilities, test_metrics

    folder = find_run_folder(run, artifacts_dir)
    try:
        run_record = RunRecord.load(folder)
    except BrokenRun as error:
        raise EvaluationError(f"Run {folder.name} cannot be evaluated: {error}") from None
    record = run_record.fields
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise EvaluationError(f"Run {folder.name} has no {MODEL_FILE}; train it to completion first.")
    expected = record.get("model_sha256")
    actual = hashlib.sha256(model_path.read_bytes()).hexdigest()
    if expected and expected != actual:
        raise EvaluationError(f"{model_path} does not match the SHA-256 recorded in run.json; refusing to load a changed model.")
    model = keras.saving.load_model(model_path, safe_mode=True)

    config = record.get("config", {})
    x_test, y_test = load_test_set(data_dir or config.get("data_dir"))
    if config.get("test_limit"):
        x_test, y_test = x_test[: config["test_limit"]], y_test[: config["test_limit"]]
    input_size = int(model.input_shape[1])
    print(f"Evaluating {folder.name} on {len(y_test)} test images", flush=True)
    probs = predict_probabilities(
        lambda x: model.predict(make_eval_dataset(x, None, 256, input_size), verbose=verbose),
        x_test,
        (lambda x: model.predict(make_eval_dataset(x, None, 256, input_size, flip=True), verbose=verbose)) if config.get("tta_flip") else None,
        translate=bool(config.get("tta_translate")),
    )
    accuracy, loss = test_metrics(y_test, probs)
    write_predictions(folder, y_test, probs)
    run_record.update(
        test_accuracy=accuracy, test_loss=loss,
        evaluation={"tta_flip": bool(config.get("tta_flip")), "tta_translate": bool(config.get("tta_translate")),
                    "from_cached_features": False, "re_evaluated": True},
        data={**record.get("data", {}), "test_images": int(len(y_test))},
    )
    print(f"{folder.name}: test accuracy {accuracy:.4f}, test loss {loss:.4f}", flush=True)
    return read_run_record(folder)
