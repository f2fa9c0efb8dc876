"""Fuzzing decode_image: mutated images and random bytes give an RGB image or ImageRejected, nothing else.

Hypothesis runs derandomized (same examples on every run) and without its
example database, so the test is deterministic and leaves no files behind.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from serving.uploads import MAX_PIXELS, ImageRejected, decode_image
from tests.serving_fixtures import ACCEPTED_SAMPLES, sample_bytes

# Pillow warns about the corrupt metadata it skips; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SAMPLES = {kind: sample_bytes(kind) for kind in sorted(ACCEPTED_SAMPLES)}
FUZZ_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def decodes_or_refuses(data: bytes) -> None:
    """The property: an RGB image within the bounds, or the project's own refusal with a message."""
    try:
        image = decode_image(data)
    except ImageRejected as refusal:
        assert str(refusal).strip(), "a refusal must say why"
        return
    assert isinstance(image, Image.Image)
    assert image.mode == "RGB"
    assert image.width >= 1 and image.height >= 1
    assert image.width * image.height <= MAX_PIXELS


@st.composite
def mutated_images(draw) -> bytes:
    """A valid small image of an accepted format with bit flips, overwritten bytes, a cut or an insertion."""
    data = bytearray(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        operation = draw(st.sampled_from(["flip", "overwrite"]))
        if operation == "flip":
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        else:
            data[position] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
    if draw(st.booleans()):
        data = data[: draw(st.integers(min_value=0, max_value=len(data)))]
    if draw(st.booleans()):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        data[position:position] = draw(st.binary(min_size=1, max_size=32))
    return bytes(data)


@FUZZ_SETTINGS
@given(mutated_images())
def test_mutated_images_decode_or_are_refused(data):
    decodes_or_refuses(data)


@FUZZ_SETTINGS
@given(st.binary(min_size=0, max_size=2048))
def test_random_bytes_decode_or_are_refused(data):
    decodes_or_refuses(data)


@FUZZ_SETTINGS
@given(prefix=st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBPVP8 "]),
       tail=st.binary(min_size=0, max_size=512))
def test_valid_signatures_followed_by_garbage_are_refused_or_decoded(prefix, tail):
    decodes_or_refuses(prefix + tail)
