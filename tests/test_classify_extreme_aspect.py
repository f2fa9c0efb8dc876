"""A 4000 x 10 (or 10 x 4000) upload classifies like any other image instead of crashing Classify."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from serving.predict import to_model_input
from serving.uploads import PREVIEW_BOX, decode_image, preview_image


def png_bytes(width: int, height: int) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("width", "height"), [(4000, 10), (10, 4000), (5000, 1), (1, 1), (32, 32), (640, 480)])
def test_preview_fits_the_box_and_never_loses_a_side(width, height):
    preview = preview_image(decode_image(png_bytes(width, height)))
    assert 1 <= preview.width <= PREVIEW_BOX and 1 <= preview.height <= PREVIEW_BOX
    assert max(preview.size) >= PREVIEW_BOX // 2  # small images are enlarged, large ones shrunk to the box


def test_small_images_are_enlarged_pixel_for_pixel():
    image = np.random.default_rng(1).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    preview = np.asarray(preview_image(image))
    assert preview.shape == (160, 160, 3) and np.array_equal(preview[::5, ::5], image)


@pytest.mark.parametrize(("width", "height"), [(4000, 10), (10, 4000)])
def test_extreme_aspect_ratio_reaches_the_model_as_32_by_32(width, height):
    model_input = to_model_input(decode_image(png_bytes(width, height)), 32)
    assert model_input.shape == (32, 32, 3) and np.isfinite(model_input).all()


def test_streamlit_shows_the_preview_of_a_4000_by_10_strip():
    from streamlit.testing.v1 import AppTest

    def page():
        import io as page_io

        import numpy as page_np
        import streamlit as st
        from PIL import Image as PageImage

        from serving.uploads import decode_image as decode, preview_image as preview

        buffer = page_io.BytesIO()
        PageImage.fromarray(page_np.zeros((10, 4000, 3), dtype=page_np.uint8)).save(buffer, format="PNG")
        st.image(preview(decode(buffer.getvalue())), caption="as given")

    app = AppTest.from_function(page).run(timeout=30)
    assert not app.exception
