"""Data: what the models learn from — sample images per class, split sizes and augmentation."""

import os

import numpy as np
import pandas as pd
import streamlit as st

from analysis.augment import augment_preview
from analysis.figures import class_counts_figure
from analysis.images import first_per_class, image_grid, upscale_nearest
from dashboard import state
from runstore.augmentation import AUGMENTATION_STRENGTHS
from runstore.cifar import CLASS_NAMES, DataError, load_from_folder, local_data_folder, split_train_validation

PER_CLASS = 10
DEFAULT_VALIDATION_SIZE = 5000


@st.cache_data(max_entries=2, ttl=3600, show_spinner="Reading CIFAR-10…")
def data_overview(data_folder: str, validation_size: int) -> tuple[np.ndarray, pd.DataFrame] | str:
    """Sample training images (classes x PER_CLASS) and per-class counts, or why the data is unavailable.

    Only these small results are cached, not the 150 MB of training images. The data is read
    from ``data_folder`` (the cache key; "" for $CIFAR10_DIR unset), never from the environment again.
    """
    try:
        data = load_from_folder(local_data_folder(data_folder or None))
    except DataError as error:
        return str(error)
    samples = data.x_train[first_per_class(data.y_train, PER_CLASS)]
    split = split_train_validation(data.x_train, data.y_train, validation_size=validation_size, seed=0)
    counts = pd.DataFrame({
        "class": list(CLASS_NAMES),
        "train": np.bincount(split.y_train, minlength=len(CLASS_NAMES)),
        "validation": np.bincount(split.y_val, minlength=len(CLASS_NAMES)),
        "test": np.bincount(data.y_test, minlength=len(CLASS_NAMES)),
    })
    return samples, counts


st.title("The data: CIFAR-10")
st.caption("60,000 colour images of 32×32 pixels in 10 classes: 50,000 for training (a validation set is held out "
           "of those) and 10,000 for the final test. Every model here learns from exactly these pixels.")
overview = data_overview(os.environ.get("CIFAR10_DIR", ""), DEFAULT_VALIDATION_SIZE)
if isinstance(overview, str):
    st.warning(f"The CIFAR-10 training images are not available here, so this page cannot show them. {overview}")
    st.stop()
samples, counts = overview


def show_grid(images: np.ndarray) -> None:
    """One row of upscaled images per class, with the class name on the left."""
    for label, name in enumerate(CLASS_NAMES):
        name_column, images_column = st.columns([1.3, 8.7], vertical_alignment="center")
        name_column.markdown(f"**{name}**")
        images_column.image(upscale_nearest(image_grid(images[label], columns=PER_CLASS, padding=1), 2))


def show_samples() -> None:
    """The first training images of each class."""
    st.caption("The first ten training images of each class, enlarged without smoothing: this is all the detail there is.")
    show_grid(samples)


def show_augmented() -> None:
    """The same images through a training augmentation (either strength), redrawn on demand."""
    name = st.radio("Strength", list(AUGMENTATION_STRENGTHS), horizontal=True, key="augment_strength",
                    help="standard: the study's recipe. light: fast_cnn's, for runs of a few epochs.")
    st.caption(f"The same images as training sees them with the {name} augmentation: "
               f"{AUGMENTATION_STRENGTHS[name].description}. Every epoch draws new ones, "
               "so the model rarely sees the same picture twice.")
    if st.button("Draw new augmentations", key="augment_again"):
        st.session_state["augment_seed"] = st.session_state.get("augment_seed", 0) + 1
    seed = st.session_state.get("augment_seed", 0)
    flat = samples.reshape(-1, *samples.shape[2:])
    show_grid(augment_preview(flat, seed=seed, augmentation=name).reshape(samples.shape))


def show_counts() -> None:
    """Images per class in each split."""
    st.caption(f"A stratified validation set of {DEFAULT_VALIDATION_SIZE:,} images is taken out of the training "
               "images, so every class keeps the same share in every split.")
    st.plotly_chart(class_counts_figure(counts), width="stretch", key="class_counts")
    st.dataframe(counts, hide_index=True)


SECTIONS = {"Training images": show_samples, "After augmentation": show_augmented, "Class counts": show_counts}
# Lazy tabs bound to the URL (?data_view=...): only the open tab's section runs.
for tab, show in zip(st.tabs(list(SECTIONS), key="data_view", bind="query-params"), SECTIONS.values()):
    if tab.open is not False:  # None: the tabs do not track state (then every section runs)
        with tab:
            show()
