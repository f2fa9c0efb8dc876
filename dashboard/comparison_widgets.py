"""Streamlit pieces shared by the Compare, Failures and Report pages (UI only).

The numbers and figures come from ``analysis``; these helpers load what a page
needs through ``dashboard.state``'s caches and show it, turning every failure
into a sentence that says what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import streamlit as st

from analysis.images import upscale_nearest
from analysis.loading import DifferentTestImages, align_on_common_test_images, images_match_predictions
from analysis.sides import Side
from dashboard import state
from runstore import BrokenRun, RunInfo

TILE_SCALE = 4  # 32x32 test images shown at 128x128, pixels kept sharp
TILE_COLUMNS = 6
GRADCAM_SCALE = 6  # Grad-CAM overlays at 192x192


def side_picker(column, label: str, sides: Mapping[str, Side], key: str, default: str, help: str | None = None) -> str:
    """A picker of a comparison side (group or run) showing its label, its key kept in the URL (``?compare_a=...``).

    Not ``bind="query-params"``: a bound selectbox writes the *formatted* label
    into the URL, and a link should carry the plain run id or ``group:<name>``.
    """
    wanted = st.query_params.get(key)
    if st.session_state.get(key) not in sides:
        st.session_state[key] = wanted if wanted in sides else default
    value = column.selectbox(label, list(sides), key=key, format_func=lambda side: sides[side].label, help=help)
    st.query_params[key] = value
    return value


def predictions_or_stop(info: RunInfo) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, probs)`` of ``info``, or stop the page with the reason."""
    try:
        return state.predictions(info)
    except BrokenRun as error:
        st.error(f"The predictions of run {info.run_id} cannot be read: {error}. Pick another run.")
        st.stop()


def predictions_of(ctx: state.Context, run_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Probabilities of every run in ``run_ids`` whose predictions load; the others get a warning."""
    loaded = {}
    for run_id in run_ids:
        try:
            y_true, probs = state.predictions(ctx.info(run_id))
        except BrokenRun as error:
            st.warning(f"Run {run_id} is left out: {error}.")
            continue
        loaded[run_id] = (y_true, probs)
    return loaded


def aligned_or_stop(loaded: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(y_true, probs_by_run)`` on the test images every run was scored on, or stop the page with the reason."""
    try:
        y_true, probs_by_run = align_on_common_test_images(loaded)
    except DifferentTestImages as error:
        st.error(str(error))
        st.stop()
    longest = max(len(labels) for labels, _ in loaded.values())
    if len(y_true) < longest:
        short = [run_id for run_id, (labels, _) in loaded.items() if len(labels) == len(y_true)]
        st.info(f"Compared on the first {len(y_true):,} test images only: {', '.join(short)} was evaluated on "
                f"that many (trained with a test limit).")
    return y_true, probs_by_run


def test_images_for(y_true: np.ndarray) -> np.ndarray | None:
    """The test images the predictions belong to, or None with a note saying why they are not shown."""
    loaded = state.test_set()
    if isinstance(loaded, str):
        st.warning(f"Test images are not available, so only the numbers are shown. {loaded}")
        return None
    images, labels = loaded
    if not images_match_predictions(labels, y_true):
        st.warning("The test images found here are not the ones these predictions were made on (different labels "
                   "or count), so they are not shown. Point CIFAR10_DIR at the data the runs were trained with.")
        return None
    return images


def show_tiles(images: np.ndarray, indices: Sequence[int], captions: Sequence[str]) -> None:
    """A grid of test images, enlarged without blur, each with its (markdown) caption underneath."""
    indices = list(indices)
    for start in range(0, len(indices), TILE_COLUMNS):
        columns = st.columns(TILE_COLUMNS)
        for column, index, caption in zip(columns, indices[start:start + TILE_COLUMNS], captions[start:start + TILE_COLUMNS]):
            with column:
                st.image(upscale_nearest(images[int(index)], TILE_SCALE), width=TILE_SCALE * 32)
                st.caption(caption)


def gradcam_panel(ctx: state.Context, run_ids: Sequence[str], image: np.ndarray, class_names: Sequence[str]) -> None:
    """Grad-CAM of ``image`` (uint8 32x32x3) for each run, side by side, with each run's answer."""
    try:
        from serving.gradcam import gradcam_heatmap, overlay
        from serving.models import ModelRefused, model_input_size
        from serving.predict import predict_probs, to_model_input
    except ImportError:
        st.info("Grad-CAM is not available in this version of the app.")
        return
    if not run_ids:
        st.info("Choose at least one run to see where it looks.")
        return
    columns = st.columns(min(len(run_ids), 4))
    for position, run_id in enumerate(run_ids):
        with columns[position % len(columns)]:
            try:
                model = state.model(ctx.info(run_id))
            except ModelRefused as refusal:
                st.error(f"{run_id}: {refusal}")
                continue
            try:
                size = int(ctx.info(run_id).record.get("input_size") or model_input_size(model))
                model_input = to_model_input(image, size)
                probs = predict_probs(model, model_input[None])[0]
                predicted = int(np.argmax(probs))
                heatmap = gradcam_heatmap(model, model_input, predicted)
                shown = overlay(upscale_nearest(np.asarray(image, dtype=np.uint8), GRADCAM_SCALE), heatmap)
            except (ValueError, RuntimeError) as error:
                st.error(f"{run_id}: Grad-CAM could not be computed for this model ({error}).")
                continue
            st.image(shown, width=GRADCAM_SCALE * 32)
            st.caption(f"**{run_id}**: {class_names[predicted]} ({probs[predicted]:.0%})")
