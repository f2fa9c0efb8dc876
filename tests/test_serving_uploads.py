"""decode_image: every accepted format and colour mode becomes the RGB a person expects; bad files get a sentence."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from serving import uploads
from serving.uploads import ALLOWED_EXTENSIONS, MAX_UPLOAD_BYTES, ImageRejected, decode_image
from tests.serving_fixtures import ACCEPTED_SAMPLES, encode, gradient_image, png_header_only, sample_bytes


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int64)


# ---------------------------------------------------------------- accepted formats


@pytest.mark.parametrize("kind", sorted(ACCEPTED_SAMPLES))
def test_every_accepted_format_decodes_to_rgb_of_the_right_size(kind):
    image = decode_image(sample_bytes(kind))
    assert image.mode == "RGB"
    assert image.size == (24, 16)


def test_lossless_formats_keep_the_exact_pixels():
    original = gradient_image()
    for pillow_format in ("PNG", "BMP", "TIFF"):
        decoded = decode_image(encode(original, pillow_format))
        np.testing.assert_array_equal(pixels(decoded), pixels(original))


def test_allowed_extensions_are_lowercase_without_dots_and_cover_every_format():
    assert all(extension == extension.lower() and not extension.startswith(".") for extension in ALLOWED_EXTENSIONS)
    assert {"jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"} <= set(ALLOWED_EXTENSIONS)


# ---------------------------------------------------------------- colour modes


def test_rgba_transparent_pixels_become_white_and_half_transparent_ones_blend():
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (10, 20, 30, 0)      # fully transparent
    rgba[0, 1] = (0, 0, 0, 128)       # half-transparent black
    rgba[1, 0] = (200, 100, 50, 255)  # opaque
    rgba[1, 1] = (0, 0, 0, 255)
    decoded = pixels(decode_image(encode(Image.fromarray(rgba), "PNG")))
    assert tuple(decoded[0, 0]) == (255, 255, 255)
    assert all(abs(value - 127) <= 1 for value in decoded[0, 1])
    assert tuple(decoded[1, 0]) == (200, 100, 50)
    assert tuple(decoded[1, 1]) == (0, 0, 0)


def test_grey_with_alpha_la_composites_on_white():
    la = Image.new("LA", (2, 1))
    la.putpixel((0, 0), (0, 0))
    la.putpixel((1, 0), (50, 255))
    decoded = pixels(decode_image(encode(la, "PNG")))
    assert tuple(decoded[0, 0]) == (255, 255, 255)
    assert tuple(decoded[0, 1]) == (50, 50, 50)


@pytest.mark.parametrize("pillow_format", ["PNG", "GIF"])
def test_palette_with_a_transparent_index_composites_on_white(pillow_format):
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    palette_image.putpixel((0, 0), 0)  # transparent entry
    palette_image.putpixel((1, 0), 1)  # red
    decoded = pixels(decode_image(encode(palette_image, pillow_format, transparency=0)))
    assert tuple(decoded[0, 0]) == (255, 255, 255)
    assert tuple(decoded[0, 1]) == (255, 0, 0)


def test_palette_without_transparency_maps_through_the_palette():
    palette_image = Image.new("P", (1, 1))
    palette_image.putpalette([12, 34, 56] + [0] * (255 * 3))
    assert tuple(pixels(decode_image(encode(palette_image, "PNG")))[0, 0]) == (12, 34, 56)


def test_grey_l_and_bilevel_become_equal_rgb_channels():
    grey = Image.fromarray(np.array([[0, 77, 255]], dtype=np.uint8))
    decoded = pixels(decode_image(encode(grey, "PNG")))
    assert decoded.tolist() == [[[0, 0, 0], [77, 77, 77], [255, 255, 255]]]
    bilevel = Image.new("1", (2, 1))
    bilevel.putpixel((1, 0), 1)
    assert pixels(decode_image(encode(bilevel, "PNG"))).tolist() == [[[0, 0, 0], [255, 255, 255]]]


@pytest.mark.parametrize("pillow_format", ["PNG", "TIFF"])
def test_sixteen_bit_grey_is_scaled_not_clipped(pillow_format):
    values = np.array([[0, 65535, 128 * 257, 1000]], dtype=np.uint16)
    source = Image.fromarray(values)
    assert source.mode == "I;16"
    decoded = pixels(decode_image(encode(source, pillow_format)))
    # 1000 / 257 = 3.9: a clipping conversion would give 255 here.
    assert decoded[0, :, 0].tolist() == [0, 255, 128, 4]
    assert (decoded[..., 0] == decoded[..., 2]).all()


def test_cmyk_is_converted_to_the_matching_rgb():
    cmyk = Image.new("CMYK", (3, 1))
    cmyk.putpixel((0, 0), (255, 0, 0, 0))    # cyan ink only
    cmyk.putpixel((1, 0), (0, 0, 0, 0))      # no ink: white paper
    cmyk.putpixel((2, 0), (0, 0, 0, 255))    # black ink
    decoded = pixels(decode_image(encode(cmyk, "TIFF")))
    assert decoded.tolist() == [[[0, 255, 255], [255, 255, 255], [0, 0, 0]]]


def test_cmyk_jpeg_decodes_to_rgb():
    cmyk = Image.new("CMYK", (8, 8), (0, 0, 0, 0))
    decoded = pixels(decode_image(encode(cmyk, "JPEG", quality=95)))
    assert decoded.shape == (8, 8, 3)
    assert decoded.min() >= 250  # white paper stays white


@pytest.mark.parametrize("pillow_format", ["PNG", "JPEG"])
def test_exif_orientation_6_rotates_the_image_upright(pillow_format):
    # Stored 20 wide x 10 high with a red block in the top-left corner.
    stored = np.full((10, 20, 3), 255, dtype=np.uint8)
    stored[:4, :4] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(Image.fromarray(stored), pillow_format, exif=exif.tobytes())
    decoded = pixels(decode_image(data))
    assert decoded.shape == (20, 10, 3)
    # Rotating clockwise moves the top-left corner to the top-right.
    assert decoded[1, 8, 0] > 200 and decoded[1, 8, 1] < 60
    assert decoded[1, 1, 1] > 200


@pytest.mark.parametrize("pillow_format", ["GIF", "PNG", "WEBP"])
def test_animation_yields_its_first_frame(pillow_format):
    red = Image.new("RGB", (6, 6), (255, 0, 0))
    blue = Image.new("RGB", (6, 6), (0, 0, 255))
    green = Image.new("RGB", (6, 6), (0, 255, 0))
    options = {"lossless": True} if pillow_format == "WEBP" else {}
    data = encode(red, pillow_format, save_all=True, append_images=[blue, green], duration=100, loop=0, **options)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    decoded = pixels(decode_image(data))
    assert decoded[3, 3, 0] > 200 and decoded[3, 3, 2] < 60


# ---------------------------------------------------------------- refusals


def test_empty_file_is_refused_with_a_sentence():
    with pytest.raises(ImageRejected, match="empty"):
        decode_image(b"")


@pytest.mark.parametrize("kind", ["png", "jpeg", "gif", "tiff", "webp", "bmp"])
def test_truncated_files_are_refused_as_damaged(kind):
    data = sample_bytes(kind)
    with pytest.raises(ImageRejected, match="damaged or incomplete"):
        decode_image(data[: len(data) // 2])


def test_a_file_over_the_byte_limit_is_refused_before_decoding():
    oversized = sample_bytes("png") + b"\x00" * MAX_UPLOAD_BYTES
    with pytest.raises(ImageRejected, match="limit is 16.0 MB"):
        decode_image(oversized)


def test_a_huge_dimension_png_bomb_is_refused_from_its_header():
    bomb = png_header_only(50_000, 50_000)  # 2.5 gigapixels in under 300 bytes
    assert len(bomb) < 1000
    with pytest.raises(ImageRejected, match="megapixels"):
        decode_image(bomb)


def test_an_image_over_our_pixel_bound_names_its_size():
    with pytest.raises(ImageRejected, match="10000 x 5000 pixels"):
        decode_image(png_header_only(10_000, 5_000))
    with pytest.raises(ImageRejected, match="megapixels"):
        decode_image(sample_bytes("png"), max_pixels=100)


def test_pillows_decompression_bomb_warning_is_treated_as_an_error(monkeypatch):
    # 24 x 16 = 384 pixels: above Pillow's (lowered) warning level, below its error level.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)
    with pytest.raises(ImageRejected, match="megapixels"):
        decode_image(sample_bytes("png"), max_pixels=10**9)


@pytest.mark.parametrize(
    "pillow_format, named",
    [("ICO", "ICO icon"), ("PCX", "PCX image"), ("PDF", "PDF document"), ("JPEG2000", "JPEG 2000"), ("PPM", "not an image")],
)
def test_valid_files_of_other_formats_are_refused_by_content(pillow_format, named):
    # The upload's name (say "cat.png") never reaches decode_image: content decides.
    data = encode(gradient_image(), pillow_format)
    with pytest.raises(ImageRejected, match=named):
        decode_image(data)


def test_svg_text_is_refused_and_named():
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    with pytest.raises(ImageRejected, match="SVG"):
        decode_image(svg)


def test_random_text_is_refused_as_not_an_image():
    with pytest.raises(ImageRejected, match="not an image in an accepted format"):
        decode_image(b"GIF? no, just a text file\n" * 3)


def test_every_refusal_is_one_sentence_saying_what_to_do():
    cases = [b"", b"\x89PNG\r\n\x1a\nxx", png_header_only(10_000, 5_000), b"%PDF-1.7 ...", b"plain text"]
    for data in cases:
        with pytest.raises(ImageRejected) as refusal:
            decode_image(data)
        message = str(refusal.value)
        assert message[0].isupper() and message.endswith(".")
        assert "Traceback" not in message and "Error" not in message
        assert any(word in message for word in ("Choose", "Upload", "Resize", "save it again"))


def test_wrong_argument_types_are_programming_errors_not_refusals():
    with pytest.raises(TypeError):
        decode_image("cat.png")
    with pytest.raises(ValueError):
        decode_image(sample_bytes("png"), max_pixels=0)


def test_pixel_bound_is_below_pillows_own_bomb_threshold():
    # Our check must fire first, with our message, before Pillow's generic one.
    assert uploads.MAX_PIXELS < Image.MAX_IMAGE_PIXELS


def test_a_large_jpeg_is_decoded_at_reduced_scale_but_keeps_detail():
    photo = gradient_image(width=4000, height=3000).resize((4000, 3000))
    decoded = decode_image(encode(photo, "JPEG", quality=85))
    assert decoded.mode == "RGB"
    assert decoded.size == (2000, 1500)  # 1/2 scale: the largest that keeps 1024 px a side
    small = decode_image(encode(gradient_image(width=1500, height=1000), "JPEG"))
    assert small.size == (1500, 1000)  # small enough: decoded in full
