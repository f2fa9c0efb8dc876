"""How far one model's answer to an upload can be trusted: calibrated probabilities and a typicality check.

Each run gets a ``RunTrust`` from its stored predictions:

- **Calibration.** A temperature fitted on the run's validation images
  (``validation_predictions.npz``, written by the trainer) rescales every probability
  the run gives, so that an answer at 40% is right about 40% of the time. Its effect is
  measured on the test images, which the fit never saw: ECE before and after. A run
  without validation predictions (older, imported, ``LabCallback``) keeps its raw
  probabilities, and says so.
- **Typicality.** The score of an image is the model's (calibrated) top probability, the
  maximum-softmax-probability baseline of Hendrycks & Gimpel (2017): images unlike the
  training data tend to get flatter answers. The threshold is a low percentile of the
  validation images' scores, set below the 5th by two standard errors of a share measured on
  that many images (``flag_quantile``), so that on new images like CIFAR-10's, the test
  images, at most about 5% are flagged; that rate is measured and shown. Without validation predictions the threshold
  comes from the test images themselves, and the note says so.

Usage::

    trust = run_trust(test=(y_test, probs_test), validation=(y_val, probs_val))
    calibrated = trust.calibrate(probs_for_upload)           # (N, 10)
    if trust.is_atypical(calibrated[0]): ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.calibration import apply_temperature, confidence_and_correct, expected_calibration_error, fit_temperature
from analysis.validation import check_predictions, check_probabilities

# The share of in-distribution images the warning may flag.
FLAG_SHARE = 0.05
# A test-set ECE up to this lets the page say "an answer at 40% is right about 40% of the time".
WELL_CALIBRATED_ECE = 0.05
# Fewer validation images than this give a temperature and a threshold too noisy to use.
MIN_FIT_IMAGES = 100

ATYPICAL_WARNING = ("This image is less typical than 95% of the test images for this model: treat the answer with care.")
TEN_CLASSES_HINT = ("A CIFAR-10 model can only answer one of its ten classes (airplane, automobile, bird, cat, deer, "
                    "dog, frog, horse, ship, truck): a photo of anything else still gets one of them.")


def typicality_scores(probs) -> np.ndarray:
    """Each image's typicality score: its top class probability (higher is more typical)."""
    return check_probabilities(probs).max(axis=1)


def flag_quantile(images: int, share: float = FLAG_SHARE) -> float:
    """The quantile to set a threshold at on ``images`` images so that new images are flagged at most ``share`` of the time.

    A quantile measured on n images misses by about ``sqrt(share (1 - share) / n)``;
    two of those below ``share`` keep the rate on other images under ``share`` in about
    97.5% of fits (0.036 on 1,000 validation images, 0.044 on 5,000).
    """
    return max(share - 2 * float(np.sqrt(share * (1 - share) / max(images, 1))), share / 4)


def typicality_threshold(scores, share: float = FLAG_SHARE) -> float:
    """A threshold below which at most ``share`` of ``scores`` fall: their lower ``share`` quantile.

    An image is flagged when its score is strictly below the threshold, so at most
    ``share`` of the images the threshold was set on are flagged (ties at it are kept).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("a typicality threshold needs at least one score")
    if not 0 < share < 1:
        raise ValueError(f"share must be between 0 and 1, got {share}")
    return float(np.quantile(scores, share, method="lower"))


@dataclass(frozen=True)
class RunTrust:
    """One run's calibration and typicality threshold, with what they were fitted on and how they measure."""

    temperature: float | None      # None: no validation predictions, probabilities stay raw
    threshold: float               # flag an image whose calibrated top probability is below this
    threshold_images: str          # "validation" or "test": where the threshold was set
    test_images: int
    test_flag_rate: float          # share of the test images the warning flags
    ece_before: float              # on the test images, raw probabilities
    ece_after: float | None        # on the test images, calibrated (None without a temperature)

    @property
    def calibrated(self) -> bool:
        """Whether the run's probabilities are temperature-scaled."""
        return self.temperature is not None

    def calibrate(self, probs) -> np.ndarray:
        """``probs`` (N, 10) as this run's calibrated probabilities (unchanged without a temperature)."""
        probs = check_probabilities(np.atleast_2d(probs))
        return probs if self.temperature is None else apply_temperature(probs, self.temperature)

    def is_atypical(self, calibrated_row) -> bool:
        """Whether one image's calibrated probabilities fall below the typicality threshold."""
        return float(np.max(calibrated_row)) < self.threshold

    def calibration_note(self) -> str:
        """One sentence for beside the bar chart: what the percentages mean, and how well that holds on the test images."""
        if not self.calibrated:
            return (f"Raw probabilities, not calibrated: this run stored no validation predictions. On the "
                    f"{self.test_images:,} test images its confidence is off by {self.ece_before:.1%} on average (ECE).")
        fitted = f"Calibrated on the validation images (temperature {self.temperature:.2f})"
        measured = (f"the average gap between confidence and accuracy (ECE on {self.test_images:,} test images) is "
                    f"{self.ece_after:.1%}, {self.ece_before:.1%} before calibration")
        if self.ece_after <= WELL_CALIBRATED_ECE:
            return f"{fitted}: of the test images it answers at about 40%, about 40% are right; {measured}."
        return f"{fitted}, yet {measured}: read its percentages as rough."

    def typicality_note(self) -> str:
        """How the warning's threshold was set and how often it fires on the test images."""
        source = ("the validation images" if self.threshold_images == "validation"
                  else "the test images themselves (this run stored no validation predictions)")
        return (f"The unlike-CIFAR-10 warning fires when the top probability is below {self.threshold:.0%}, set "
                f"on {source} to flag at most 5% of such images; it flags {self.test_flag_rate:.1%} of the {self.test_images:,} test images.")


def run_trust(test: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray] | None) -> RunTrust:
    """A run's ``RunTrust`` from its test predictions and, when it has them, its validation predictions.

    The temperature and the threshold come from ``validation`` only; ``test`` only
    measures them (ECE before and after, the warning's false-alarm rate).
    """
    y_test, probs_test = check_predictions(*test)
    temperature = None
    if validation is not None:
        y_val, probs_val = check_predictions(*validation)
        if len(y_val) >= MIN_FIT_IMAGES:
            temperature = fit_temperature(y_val, probs_val)
    ece_before = expected_calibration_error(*confidence_and_correct(y_test, probs_test))
    calibrated_test = probs_test if temperature is None else apply_temperature(probs_test, temperature)
    ece_after = None if temperature is None else expected_calibration_error(*confidence_and_correct(y_test, calibrated_test))
    if temperature is not None:
        threshold = typicality_threshold(typicality_scores(apply_temperature(probs_val, temperature)),
                                         flag_quantile(len(y_val)))
        threshold_images = "validation"
    else:
        threshold = typicality_threshold(typicality_scores(calibrated_test))
        threshold_images = "test"
    test_flag_rate = float(np.mean(typicality_scores(calibrated_test) < threshold))
    return RunTrust(temperature, threshold, threshold_images, len(y_test), test_flag_rate, ece_before, ece_after)


# Below this test accuracy a model trained from scratch on 32x32 images is a weak guide to real photos.
STRONG_MODEL_ACCURACY = 0.90


def what_would_help(best_accuracy: float | None, has_imagenet_transfer: bool) -> str | None:
    """What would give better answers for real photos, when the best model here is weak; None when it is not.

    ``best_accuracy`` is the best finished run's test accuracy; ``has_imagenet_transfer``
    whether any finished run starts from ImageNet weights.
    """
    if best_accuracy is not None and best_accuracy >= STRONG_MODEL_ACCURACY:
        return None
    shown = "" if best_accuracy is None else f"The best model here scores {best_accuracy:.0%} on CIFAR-10's own test images, and real photos are harder. "
    if has_imagenet_transfer:
        return (shown + "The transfer models (started from ImageNet weights) usually answer real photos best: "
                "choose one under *Model*.")
    return (shown + "For real photos, a transfer model started from ImageNet weights does much better than a model trained "
            "from scratch on 32×32 images: train `vgg16_transfer` or `resnet50v2_transfer` with `--weights imagenet`, "
            "best on a GPU (the `seed` suite), then reload this page.")
