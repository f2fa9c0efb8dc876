"""The model card's plain words for runs of every source (``analysis.model_card``), on literal records."""

from __future__ import annotations

import pytest

from analysis.model_card import (
    card_events, configuration_title, has_curves, learning_rate_text, optimizer_text, preprocessing_text, source_text,
)

IMPORTED_NO_HISTORY = {
    "source": "imported", "source_file": "notebook.h5", "source_sha256": "ab" * 32, "status": "complete",
    "optimizer": "unknown", "learning_rate": None, "best_epoch": None, "epochs_run": 0, "lr_drop_epochs": [],
    "early_stop_epoch": None, "train_seconds": None, "has_curves": False, "preprocessing": "torch", "config": {},
}


def test_source_names_the_file_and_its_hash_prefix_or_the_writer():
    assert source_text(IMPORTED_NO_HISTORY) == f"imported from notebook.h5 (SHA-256 {'ab' * 6}…)"
    assert source_text({"source": "callback"}) == "logged with LabCallback in the user's own fit"
    assert source_text({"source": "trained"}) == source_text({}) == "trained by the lab (python -m training)"


@pytest.mark.parametrize("rate, shown", [
    (0.05000000074505806, "0.05"), (0.001, "0.001"), (1e-4, "0.0001"), (0.00012345, "0.000123"), (3e-5, "3e-05"),
    (2, "2"), (None, None),
])
def test_learning_rate_has_three_significant_digits(rate, shown):
    assert learning_rate_text(rate) == shown


def test_optimizer_leaves_out_what_the_file_did_not_say():
    assert optimizer_text(IMPORTED_NO_HISTORY) is None
    assert optimizer_text({"optimizer": "adam", "learning_rate": None}) == "adam (learning rate not recorded)"
    assert optimizer_text({"optimizer": "unknown", "learning_rate": 0.01}) == "learning rate 0.01"
    assert optimizer_text({"optimizer": "sgd", "learning_rate": 0.10000000149011612}) == "sgd at learning rate 0.1"


def test_preprocessing_names_the_mode_and_what_it_does():
    assert preprocessing_text(IMPORTED_NO_HISTORY).startswith("`torch`: pixels / 255, then the ImageNet channel means")
    assert preprocessing_text({}) == "`raw`: 0-255 RGB pixels as they are (the model scales them itself)"


def test_an_import_without_history_says_it_has_no_curves_and_nothing_about_callbacks():
    assert not has_curves(IMPORTED_NO_HISTORY) and has_curves({}) and has_curves({"has_curves": True})
    events = card_events(IMPORTED_NO_HISTORY)
    assert events == ["No curves: imported without a history, so there is no best epoch or learning-rate drop to show."]
    # Even a record that claims a best epoch of a zero-epoch history never reads "Best epoch: 1 of 0".
    assert not any("Best epoch" in event for event in card_events({**IMPORTED_NO_HISTORY, "best_epoch": 0}))


def test_an_import_with_history_and_a_callback_run_say_which_epochs_weights_were_saved():
    imported = {**IMPORTED_NO_HISTORY, "has_curves": True, "epochs_run": 4, "best_epoch": 3, "lr_drop_epochs": [2]}
    assert card_events(imported) == [
        "4 epoch(s) in the imported history.",
        "The saved model holds the weights of epoch 4, the last one the file was saved after.",
        "Learning rate lowered at epoch 3.",
    ]
    logged = {"source": "callback", "status": "complete", "epochs_run": 2, "best_epoch": 1, "lr_drop_epochs": []}
    assert card_events(logged) == ["2 epoch(s) in the fit logged with LabCallback.",
                                   "The saved model holds the weights of epoch 2, the last one fit ran."]
    assert all("Early stopping" not in event for event in card_events(imported) + card_events(logged))


def test_a_lab_run_keeps_its_callback_events():
    trained = {"status": "complete", "epochs_run": 10, "best_epoch": 6, "lr_drop_epochs": [4], "early_stop_epoch": None}
    assert card_events(trained)[0] == "Best epoch: 7 of 10; the saved model holds its weights."
    assert card_events(trained)[-1] == "Early stopping did not fire; training ran its planned epochs."


def test_configuration_title_says_who_gave_it():
    assert "--config" in configuration_title(IMPORTED_NO_HISTORY)
    assert "LabCallback" in configuration_title({"source": "callback"})
    assert "python -m training run" in configuration_title({})
