"""How honest Classify's answers are: calibration, the unlike-CIFAR-10 warning's false alarms, and real photos.

For every finished run in an artifacts folder it prints the temperature fitted on the
run's validation predictions, the test-set ECE before and after, and how often the
warning fires on the test images (the target: at most 5% per model). Then it asks every
run about scikit-image's bundled photos (a cat, a horse silhouette, and three photos no
class fits: an astronaut, a coffee cup, a rocket), decoded as an upload would be, and
prints each answer with its calibrated probability and whether the warning fires, and
the weighted consensus Classify would show.

    CIFAR10_DIR=... python bench/honest_answers.py --artifacts-dir artifacts
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.answers import at_chance, consensus  # noqa: E402
from analysis.trust import FLAG_SHARE, run_trust  # noqa: E402
from bench.common import header  # noqa: E402
from runstore import CLASS_NAMES, list_runs, read_predictions, read_validation_predictions, resolve_artifacts_dir  # noqa: E402
from runstore.preprocessing import run_preprocessing  # noqa: E402
from runstore.status import STATUS_COMPLETE  # noqa: E402

# scikit-image photo -> the CIFAR-10 class a person would give it (None: no class fits).
PHOTOS = {"chelsea": "cat", "horse": "horse", "astronaut": None, "coffee": None, "rocket": None}


def photo_uploads() -> dict[str, bytes]:
    """The scikit-image photos as PNG files, the way a visitor would upload them."""
    from PIL import Image
    from skimage import data

    uploads = {}
    for name in PHOTOS:
        pixels = getattr(data, name)()
        if pixels.dtype == bool:  # the horse is a black-on-white silhouette mask
            pixels = np.where(pixels, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        uploads[name] = buffer.getvalue()
    return uploads


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts-dir", help="the artifacts folder (default: $ARTIFACTS_DIR or ./artifacts)")
    arguments = parser.parse_args(argv)
    from serving.models import load_run_model, model_input_size
    from serving.predict import predict_probs, to_model_input
    from serving.uploads import decode_image

    artifacts = resolve_artifacts_dir(arguments.artifacts_dir)
    runs = [info for info in list_runs(artifacts) if info.status == STATUS_COMPLETE]
    if not runs:
        print(f"No finished run in {artifacts}: train some first (python -m training suite demo).")
        return 2
    header(f"Honest answers: {len(runs)} finished runs in {artifacts}")
    uploads = {name: decode_image(content) for name, content in photo_uploads().items()}
    answers: dict[str, dict[str, np.ndarray]] = {name: {} for name in uploads}
    print(f"\n{'run':34} {'test acc':>8} {'T':>6} {'ECE raw':>8} {'ECE cal':>8} {'thresh':>6} {'flagged':>8}  photos (answer, calibrated %, ! = warned)")
    over, photo_flags = [], 0
    for info in runs:
        trust = run_trust(test=read_predictions(info.path), validation=read_validation_predictions(info.path))
        model = load_run_model(artifacts, info.run_id)
        size = model_input_size(model)
        batch = np.stack([to_model_input(image, size) for image in uploads.values()])
        probs = trust.calibrate(predict_probs(model, batch, preprocessing=run_preprocessing(info.record)))
        cells = []
        for (name, row) in zip(uploads, probs):
            answers[name][info.run_id] = row
            warned = trust.is_atypical(row) and not at_chance(info.record)
            photo_flags += warned
            cells.append(f"{name}:{CLASS_NAMES[int(row.argmax())]} {row.max():.0%}{'!' if warned else ''}")
        chance = at_chance(info.record)
        # A model at chance answers everything alike: Classify says so instead of judging typicality.
        if trust.test_flag_rate > FLAG_SHARE and not chance:
            over.append(info.run_id)
        temperature = f"{trust.temperature:.2f}" if trust.calibrated else "raw"
        ece_after = f"{trust.ece_after:.3f}" if trust.calibrated else "-"
        print(f"{info.run_id:34} {info.record['test_accuracy']:8.1%} {temperature:>6} {trust.ece_before:8.3f} "
              f"{ece_after:>8} {trust.threshold:6.1%} {trust.test_flag_rate:8.1%}{' (at chance)' if chance else ''}  "
              f"{'; '.join(cells)}")
    records = {info.run_id: info.record for info in runs}
    print("\nConsensus (Classify's weighted vote):")
    for name, by_run in answers.items():
        verdict = consensus(by_run, records, CLASS_NAMES)
        truth = PHOTOS[name] or "no class fits"
        print(f"  {name} ({truth}): {verdict.answer} ({(verdict.probability or 0):.0%}), voters: "
              + ", ".join(f"{row.group} {row.weight:.0%}" for row in verdict.votes.itertuples()))
    total = len(runs) * len(uploads)
    print(f"\nTest-set false alarms above {FLAG_SHARE:.0%} among runs above chance: {', '.join(over) if over else 'none'} "
          f"({len(runs)} runs).")
    print(f"Warning on the {len(uploads)} photos: {photo_flags} of {total} answers ({photo_flags / total:.0%}).")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
