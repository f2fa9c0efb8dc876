"""Group curves: mean and band on exact epochs, run counts where members stopped early, images seen."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.group_curves import band_limits, group_curve, group_curves_figure, images_seen


def history(values, **extra):
    return pd.DataFrame({"epoch": np.arange(len(values)), "val_accuracy": values, **extra})


MEMBERS = [history([0.2, 0.4, 0.5]), history([0.3, 0.5, 0.7]), history([0.4, 0.6])]  # last one stopped early


def test_mean_and_band_on_exact_epochs_with_run_counts():
    curve = group_curve(MEMBERS, "val_accuracy")
    assert curve["x"].tolist() == [1, 2, 3]
    assert curve["runs"].tolist() == [3, 3, 2]
    assert curve["mean"].tolist() == pytest.approx([0.3, 0.5, 0.6])
    assert curve["sd"].tolist() == pytest.approx([0.1, 0.1, math.sqrt(0.02)])
    assert curve["min"].tolist() == pytest.approx([0.2, 0.4, 0.5])
    assert curve["max"].tolist() == pytest.approx([0.4, 0.6, 0.7])
    lower, upper = band_limits(curve, "sd")
    assert lower.tolist() == pytest.approx([0.2, 0.4, 0.6 - math.sqrt(0.02)])
    assert band_limits(curve, "minmax")[1].tolist() == pytest.approx([0.4, 0.6, 0.7])


def test_a_missing_value_leaves_only_that_member_out_of_that_point():
    curve = group_curve([history([0.2, np.nan]), history([0.4, 0.6])], "val_accuracy")
    assert curve["runs"].tolist() == [2, 1]
    assert curve["mean"].tolist() == pytest.approx([0.3, 0.6])
    assert math.isnan(curve.loc[1, "sd"])


def test_images_seen_axis_from_training_images_or_the_column():
    curve = group_curve(MEMBERS, "val_accuracy", x_axis="images seen", training_images=[5000, 5000, 5000])
    assert curve["x"].tolist() == [5000, 10000, 15000]
    with_column = history([0.1, 0.2], images_seen=[1280, 2560])
    assert images_seen(with_column, None).tolist() == [1280, 2560]
    with pytest.raises(ValueError, match="plot it by epoch"):
        images_seen(history([0.1]), None)


def test_refusals():
    with pytest.raises(ValueError, match="x_axis"):
        group_curve(MEMBERS, "val_accuracy", x_axis="time")
    with pytest.raises(ValueError, match="no 'loss' column"):
        group_curve(MEMBERS, "loss")
    with pytest.raises(ValueError, match="band"):
        band_limits(group_curve(MEMBERS, "val_accuracy"), "iqr")


def test_figure_has_band_mean_and_optional_member_lines():
    curve = group_curve(MEMBERS, "val_accuracy")
    figure = group_curves_figure({"b3": curve}, "val_accuracy", band="sd",
                                 members={"b3": {f"s{index}": member for index, member in enumerate(MEMBERS)}})
    band, mean, *lines = figure.data
    assert band.fill == "toself" and len(band.x) == 6
    assert band.mode == "lines"  # no markers on the band's corners
    assert list(mean.y) == pytest.approx([0.3, 0.5, 0.6]) and list(mean.customdata) == [3, 3, 2]
    assert "mean of 3" in mean.name
    assert len(lines) == 3
    assert len(group_curves_figure({"b3": curve}, "val_accuracy").data) == 2
