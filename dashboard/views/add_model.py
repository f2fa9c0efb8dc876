"""Add a model: upload a .keras/.h5 file trained anywhere; it is evaluated on the test set and listed as a run.

UI only: staging, the import command, its progress and its messages live in
``serving.model_upload``; the checks are those of ``python -m training import``.
"""

import time

import streamlit as st

from dashboard import access_gate, state
from runstore import BrokenRun, read_run_record, run_dir
from serving.model_upload import (
    HISTORY_SUFFIXES,
    MAX_HISTORY_BYTES,
    MEGABYTE,
    MODEL_SUFFIXES,
    PREPROCESSING_CHOICES,
    UploadRefused,
    check_history_upload,
    check_model_upload,
    check_run_name,
    discard_staging,
    model_upload_limit_mb,
    read_progress,
    stage_upload,
    start_import,
    suggest_run_id,
)

POLL_SECONDS = 0.5

st.title("Add a model")
# Before any widget: a read-only or locked server never shows an uploader, so no upload reaches the import.
access_gate.require_write("Add a model")
st.markdown(
    "Upload a model trained anywhere (a notebook, Colab, a script) and the lab evaluates it on the "
    "10,000 CIFAR-10 test images, then lists it with the other runs: every page can use it. "
    "Save it with `model.save('model.keras')` (or a legacy `model.save('model.h5')`)."
)
try:
    limit_mb = min(model_upload_limit_mb(), int(st.get_option("server.maxUploadSize")))
except UploadRefused as problem:
    st.error(str(problem))
    st.stop()
st.caption(
    f"Files up to **{limit_mb} MB**. The file is loaded in Keras safe mode: a model with a Lambda layer or custom "
    "Python code is refused and nothing of it runs. It must take square RGB images and output 10 classes."
)



def propose_run_name() -> None:
    """Fill an empty run name from the uploaded file's name."""
    chosen = st.session_state.get("add_model_file")
    if chosen is not None and not st.session_state.get("add_model_name"):
        st.session_state["add_model_name"] = suggest_run_id(chosen.name)


upload = st.file_uploader("Model file (.keras or .h5)", type=[suffix.lstrip(".") for suffix in MODEL_SUFFIXES],
                          max_upload_size=limit_mb, key="add_model_file", on_change=propose_run_name)
preprocessing = st.radio(
    "What the model expects its pixels to be", list(PREPROCESSING_CHOICES), key="add_model_preprocessing",
    format_func=PREPROCESSING_CHOICES.get,
    help="Pick what your notebook did to the images before fit(); the wrong choice gives a low accuracy, not an error.",
)
run_id = st.text_input("Run name", key="add_model_name",
                       placeholder="e.g. my-notebook-cnn", help="Letters, digits, '.', '_' or '-'; shown in every picker.")
history = st.file_uploader(
    "Training history (optional): the CSV file keras.callbacks.CSVLogger wrote", key="add_model_history",
    type=[suffix.lstrip(".") for suffix in HISTORY_SUFFIXES], max_upload_size=max(1, MAX_HISTORY_BYTES // MEGABYTE),
    help="Gives the run its curves; without it the run says it has none.",
)

if not st.button("Evaluate and add", type="primary", disabled=upload is None, key="add_model_go"):
    if upload is None:
        st.info("Choose a model file to start.")
    st.stop()

artifacts = state.artifacts_dir()
access_gate.require_write("Add a model")  # again right before the first write: the token may have been cleared
try:
    check_model_upload(upload.name, upload.size, limit_mb * MEGABYTE)
    if history is not None:
        check_history_upload(history.name, history.size)
    run_id = check_run_name(artifacts, run_id)
except UploadRefused as refusal:
    st.error(str(refusal))
    st.stop()

staging = stage_upload(artifacts, upload.name, upload.getvalue(),
                       history.name if history else None, history.getvalue() if history else None)
job = None
try:
    job = start_import(staging, run_id, preprocessing, artifacts)
    bar = st.progress(0.0, text="Starting Python and TensorFlow…")
    st.caption("Evaluation runs in its own process, so other users are not slowed. Leaving this page cancels it.")
    while job.running():
        progress = read_progress(staging.progress_path)
        bar.progress(progress.fraction, text=progress.text)
        time.sleep(POLL_SECONDS)
    outcome = job.outcome()
    bar.empty()
finally:
    # Also on a rerun or a closed tab: stop the command (it removes its own build folder), drop the upload.
    if job is not None:
        job.stop()
    discard_staging(staging)

if not outcome.ok:
    st.error(f"**{upload.name}** was not added. {outcome.message}")
    st.stop()
try:
    record = read_run_record(run_dir(artifacts, run_id))
    st.success(f"**{run_id}** was added: test accuracy **{record['test_accuracy']:.1%}** on "
               f"{record.get('data', {}).get('test_images', 10000):,} test images "
               f"(preprocessing {record['preprocessing']}, {record['outputs']}).")
except (BrokenRun, KeyError, TypeError) as problem:
    st.warning(f"**{run_id}** was imported, but its run record cannot be read back ({problem}).")
st.markdown("It is now listed on the [Overview](./) with the other runs, and every page can use it.")
