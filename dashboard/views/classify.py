"""Classify: upload images (or take a random test image) and see what each model answers, and how far to trust it."""

import numpy as np
import streamlit as st

from analysis.answers import VOTE_RULE, answers_table, chance_check, consensus
from analysis.findings import has_imagenet_weights
from analysis.figures import top_k_figure
from analysis.images import to_display_uint8, upscale_nearest
from dashboard import state
from runstore.groups import group_of

CLASSES = list(state.class_names())
MAX_IMAGES = 8
ctx = state.context()
st.title("Classify an image")
state.require_runs(ctx)
if not ctx.complete:
    st.info("No run has finished yet, so there is no model to ask. Train one (see the Overview) and come back.")
    st.stop()

# serving imports Pillow and, when a model loads, Keras; imported here so the other pages never pay for it.
from serving.models import ModelRefused, model_input_size  # noqa: E402
from serving.predict import to_model_input, top_k  # noqa: E402
from serving.uploads import ALLOWED_EXTENSIONS, MAX_UPLOAD_BYTES, ImageRejected, decode_image, preview_image  # noqa: E402
from analysis.trust import ATYPICAL_WARNING, TEN_CLASSES_HINT, what_would_help  # noqa: E402
from runstore import BrokenRun  # noqa: E402

MEGABYTE = 1024 * 1024  # Streamlit's megabyte (server.maxUploadSize, max_upload_size)

left, right = st.columns(2)
source = left.radio("Image", ["Upload images", "Random test image"], horizontal=True, key="classify_source")
scope = right.radio("Classify with", ["One model", "Every finished run"], horizontal=True, key="classify_scope")
if scope == "One model":
    default = ctx.focus if ctx.focus in ctx.complete else ctx.complete[0]
    chosen_runs = [right.selectbox("Model", ctx.complete, index=ctx.complete.index(default), key="classify_run",
                                   format_func=lambda run_id: state.run_label(ctx.info(run_id)))]
else:
    chosen_runs = list(ctx.complete)

# Each entry: (name shown, image the serving layer accepts, true class or None).
images: list[tuple[str, object, str | None]] = []
if source == "Upload images":
    uploads = st.file_uploader(
        "Upload one or more photos (JPEG, PNG, WebP, BMP, GIF or TIFF)", type=ALLOWED_EXTENSIONS,
        accept_multiple_files=True, key="uploads", max_upload_size=MAX_UPLOAD_BYTES // MEGABYTE,
        help="Any size: it is cropped to a square and shrunk to 32×32, as CIFAR-10 images are.",
    )
    for upload in (uploads or [])[:MAX_IMAGES]:
        try:
            images.append((upload.name, decode_image(upload.getvalue()), None))
        except ImageRejected as refusal:
            st.error(f"**{upload.name}**: {refusal}")
    if uploads and len(uploads) > MAX_IMAGES:
        st.warning(f"Only the first {MAX_IMAGES} images are classified; remove some to see the others.")
else:
    loaded = state.test_set()
    if isinstance(loaded, str):
        st.warning(f"Test images are not available here. {loaded} Upload an image instead.")
    else:
        test_images, test_labels = loaded
        if st.button("Pick another random test image", key="new_random"):
            st.session_state["random_index"] = int(np.random.default_rng().integers(len(test_images)))
        index = st.session_state.setdefault("random_index", 0)
        index = min(index, len(test_images) - 1)
        images.append((f"test image #{index}", test_images[index], CLASSES[int(test_labels[index])]))

if not images:
    st.info("Upload an image or switch to **Random test image** to see the models' answers.")
    st.stop()

# Load every chosen model once (cached per process) and classify all images in one batch per model.
probs_by_run: dict[str, np.ndarray] = {}
inputs_by_run: dict[str, np.ndarray] = {}
trust_by_run: dict = {}
for run_id in chosen_runs:
    try:
        model = state.model(ctx.info(run_id))
    except ModelRefused as refusal:
        st.error(f"Run **{run_id}** was not used: {refusal}")
        continue
    input_size = model_input_size(model)
    batch = np.stack([to_model_input(image, input_size) for _, image, _ in images])
    try:
        trust_by_run[run_id] = state.trust(ctx.info(run_id))
    except BrokenRun as error:
        st.error(f"Run **{run_id}** was not used: its predictions cannot be read ({error}).")
        continue
    # Every probability shown from here on is the run's calibrated one (raw where it has no calibration).
    probs_by_run[run_id] = trust_by_run[run_id].calibrate(state.classify(ctx.info(run_id), batch))
    inputs_by_run[run_id] = batch
if not probs_by_run:
    st.stop()
best_record = max((ctx.info(run_id).record for run_id in ctx.complete), key=lambda record: record.get("test_accuracy") or 0)
help_text = what_would_help(best_record.get("test_accuracy"),
                            any(has_imagenet_weights(ctx.info(run_id).record) for run_id in ctx.complete))


def atypical_for(run_ids: list[str], image_number: int) -> list[str]:
    """The runs for which this image falls below their typicality threshold."""
    return [run_id for run_id in run_ids if trust_by_run[run_id].is_atypical(probs_by_run[run_id][image_number])]

PER_ROW = 2  # models side by side; each shows its input next to its top-3 bars
for image_number, (name, image, true_class) in enumerate(images):
    st.divider()
    st.markdown(f"#### {name}" + (f" — true class: **{true_class}**" if true_class else ""))
    run_ids = list(probs_by_run)
    original, summary = st.columns([1, 4], vertical_alignment="center")
    with original:
        # Fitted by serving: a 4000x10 strip shrunk by Streamlit itself would be 0 pixels high and crash.
        st.image(preview_image(image), caption="as given")
    with summary:
        if len(run_ids) > 1:
            answers = {run_id: probs_by_run[run_id][image_number] for run_id in run_ids}
            records = {run_id: ctx.info(run_id).record for run_id in run_ids}
            verdict = consensus(answers, records, CLASSES)
            st.markdown(f"**Consensus:** {verdict.sentence}")
            voting = [run_id for run_id in run_ids if group_of(records[run_id]) not in verdict.left_out]
            unusual = atypical_for(voting, image_number)
            if voting and len(unusual) * 2 >= len(voting):
                st.warning(f"{ATYPICAL_WARNING} ({len(unusual)} of the {len(voting)} voting models find it so.) "
                           f"{TEN_CLASSES_HINT}", icon=":material/help:")
            if not verdict.votes.empty:
                st.dataframe(verdict.votes, hide_index=True, width="stretch", column_config={
                    "test accuracy": st.column_config.NumberColumn(format="percent"),
                    "weight": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
                    "probability": st.column_config.NumberColumn("its probability", format="percent")})
            st.caption(VOTE_RULE + " Probabilities are each run's calibrated ones.")
            table = answers_table(answers, CLASSES)
            # Every model is shown; those that did not vote are marked with the reason.
            table["vote"] = [f"left out: {verdict.left_out[group_of(records[run_id])]}"
                             if group_of(records[run_id]) in verdict.left_out else f"in group {group_of(records[run_id])}"
                             for run_id in table["run"]]
            table["typical?"] = ["(model at chance)" if chance_check([records[run_id]])
                                 else "unlike CIFAR-10" if atypical_for([run_id], image_number) else "yes"
                                 for run_id in table["run"]]
            with st.expander(f"Each model's answer ({len(table)})"):
                st.dataframe(table, hide_index=True, width="stretch",
                             column_config={"probability": st.column_config.NumberColumn(format="percent"),
                                            "vote": st.column_config.TextColumn(width="large")})
        else:
            run_id = run_ids[0]
            answer, probability = top_k(probs_by_run[run_id][image_number], k=1)[0]
            trust = trust_by_run[run_id]
            st.markdown(f"**{run_id}** answers **{answer}** ({probability:.0%}"
                        f"{', calibrated' if trust.calibrated else ', not calibrated'}).")
            chance_reason = chance_check([ctx.info(run_id).record])
            if chance_reason:
                # Its answers are alike for every image: typicality means nothing for it.
                st.warning(f"This model did not learn ({chance_reason}): its answer is a guess. Choose another model.",
                           icon=":material/block:")
            elif atypical_for([run_id], image_number):
                st.warning(f"{ATYPICAL_WARNING} {TEN_CLASSES_HINT}", icon=":material/help:")
            st.caption(f"{trust.calibration_note()} {trust.typicality_note()}")
        if help_text and true_class is None:
            st.info(help_text, icon=":material/lightbulb:")
        st.caption("Below, each model's input is shown enlarged: the photo is cropped to a square and shrunk to "
                   "32×32 pixels like CIFAR-10, which is why small or off-centre objects get lost.")
    for start in range(0, len(run_ids), PER_ROW):
        for column, run_id in zip(st.columns(PER_ROW), run_ids[start:start + PER_ROW]):
            # A bordered box per model, so a lone model leaves no empty box beside it.
            with column, st.container(border=True):
                model_input = inputs_by_run[run_id][image_number]
                side = model_input.shape[0]
                seen, bars = st.columns([1, 2], vertical_alignment="center")
                seen.image(upscale_nearest(to_display_uint8(model_input), max(1, 128 // side)),
                           caption=f"what {run_id} saw ({side}×{side})", width=128)
                with bars:
                    st.plotly_chart(
                        top_k_figure(top_k(probs_by_run[run_id][image_number], k=3), title=run_id,
                                     color=ctx.colors.get(run_id, "#1f77b4")),
                        width="stretch", key=f"top3_{image_number}_{run_id}",
                    )
                    trust = trust_by_run[run_id]
                    st.caption(f"Calibrated (temperature {trust.temperature:.2f}): ECE {trust.ece_after:.1%} on the test "
                               "images" if trust.calibrated else "Raw probabilities: this run has no calibration.")
    if st.toggle("Show where each model looked (Grad-CAM)", key=f"gradcam_{image_number}",
                 help="Heatmap of the image regions that pushed each model towards its answer."):
        from dashboard.comparison_widgets import gradcam_panel

        gradcam_panel(ctx, run_ids, to_model_input(image, 32).round().astype(np.uint8), CLASSES)
