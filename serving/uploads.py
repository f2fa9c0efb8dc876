"""Decoding an uploaded file into a plain RGB image, or refusing it with one clear sentence.

Everything a stranger can send reaches the models through ``decode_image``, so
this is the one place that decides what an acceptable image is:

- the format is decided by the file's content, never by its name, and only
  JPEG, PNG, WebP, BMP, GIF and TIFF are accepted;
- the file size and the pixel count are bounded before any pixel is decoded, and
  Pillow's decompression-bomb warning is an error here;
- only the first frame of an animation is decoded, and a large JPEG is decoded
  at a reduced scale that still keeps 1024 pixels on each side;
- EXIF orientation is applied, and every colour mode is turned into 8-bit RGB
  (transparency composited on white, 16-bit grey scaled, CMYK converted).

Usage::

    from serving.uploads import ALLOWED_EXTENSIONS, ImageRejected, decode_image
    try:
        image = decode_image(uploaded_file.getvalue())
    except ImageRejected as refusal:
        st.error(str(refusal))
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Extensions for st.file_uploader(type=...). The browser filters by these; the
# server decides again by content in decode_image, since a name proves nothing.
ALLOWED_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]

# The same 16 MB as server.maxUploadSize in dashboard/.streamlit/config.toml (Streamlit's
# megabyte is 1024 * 1024 bytes), repeated here because a config file can be
# changed or bypassed and this function may be called from elsewhere.
MAX_UPLOAD_BYTES = 16 * 1024 * 1024

# 40 megapixels holds any phone or camera photo people usually share, and bounds
# the decoded image to about 160 MB (RGBA) per upload. It is below Pillow's own
# bomb threshold (about 89 megapixels), so our check always fires first.
MAX_PIXELS = 40_000_000

# Large JPEGs are decoded at 1/2, 1/4 or 1/8 scale (JPEG's own DCT scaling, far
# cheaper than decoding everything and shrinking) while keeping at least this
# many pixels on each side: plenty for display, and the models see 32 x 32.
JPEG_DECODE_MIN_SIDE = 1024

# Pillow format names tried when opening: only these parsers ever see the bytes.
OPENED_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
# Formats an opened image may report. MPO is how Pillow names a JPEG that carries
# several pictures (many cameras write these); the JPEG parser returns it.
ACCEPTED_PILLOW_FORMATS = OPENED_PILLOW_FORMATS + ("MPO",)

ACCEPTED_FORMATS_TEXT = "JPEG, PNG, WebP, BMP, GIF or TIFF"

# Leading bytes of accepted formats, to tell "a damaged PNG" from "not an image".
_ACCEPTED_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}

# Leading bytes of common files people upload by mistake, to name them in the message.
_OTHER_SIGNATURES = {
    b"%PDF": "a PDF document",
    b"\x00\x00\x01\x00": "an ICO icon",
    b"8BPS": "a Photoshop (PSD) file",
    b"\xff\x4f\xff\x51": "a JPEG 2000 image",
    b"\x00\x00\x00\x0cjP  ": "a JPEG 2000 image",
    b"PK\x03\x04": "a ZIP archive (or an Office document)",
    b"\x7fELF": "a program",
    b"MZ": "a program",
    b"%!PS": "a PostScript file",
    b"\x1a\x45\xdf\xa3": "a video",
}


class ImageRejected(ValueError):
    """An upload that is not an acceptable image; ``str()`` is one sentence for the user."""


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode an uploaded file into a new 8-bit RGB image.

    ``data`` is the file's raw bytes. Raises ``ImageRejected`` (a ``ValueError``)
    with a sentence saying what was wrong and what to do, for an empty, too
    large, damaged or truncated file, a format that is not accepted, or an image
    with more than ``max_pixels`` pixels. Never raises anything else for bad
    content.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image expects the file's bytes, got {type(data).__name__}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1, got {max_pixels}")
    data = bytes(data)
    if not data:
        raise ImageRejected(f"The file is empty. Choose a {ACCEPTED_FORMATS_TEXT} image.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(
            f"The file is {_megabytes(len(data))}; the limit is {_megabytes(MAX_UPLOAD_BYTES)}. "
            "Upload a smaller image (resize or compress it first)."
        )
    _treat_bomb_warnings_as_errors()
    try:
        image = Image.open(io.BytesIO(data), formats=list(OPENED_PILLOW_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(_too_many_pixels_message(None, max_pixels)) from None
    except UnidentifiedImageError:
        raise ImageRejected(_unidentified_message(data)) from None
    except Exception:  # any parser failure on a header means the same thing to the user
        raise ImageRejected(_damaged_message()) from None
    with image:
        return _decode_opened(image, max_pixels)


def _decode_opened(image: Image.Image, max_pixels: int) -> Image.Image:
    """Check the size of an opened image, then decode its first frame into RGB."""
    if image.format not in ACCEPTED_PILLOW_FORMATS:
        # Cannot happen with formats= above; kept so a Pillow change fails closed.
        raise ImageRejected(_not_accepted_message(f"a {image.format} image"))
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected(_damaged_message())
    # Checked on the header, before a single pixel is decoded.
    if width * height > max_pixels:
        raise ImageRejected(_too_many_pixels_message((width, height), max_pixels))
    try:
        if image.format in ("JPEG", "MPO"):
            image.draft(None, (JPEG_DECODE_MIN_SIDE, JPEG_DECODE_MIN_SIDE))
        image.load()  # decodes the first frame only; later frames are never read
        upright = _apply_exif_orientation(image)
        rgb = _to_rgb(upright)
        rgb.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(_too_many_pixels_message((width, height), max_pixels)) from None
    except MemoryError:
        raise ImageRejected(
            "The image is too large to decode on this server. Upload a smaller image."
        ) from None
    except Exception:  # truncated data, bad compression streams, corrupt tables...
        raise ImageRejected(_damaged_message()) from None
    if rgb.width * rgb.height > max_pixels:
        raise ImageRejected(_too_many_pixels_message(rgb.size, max_pixels))
    return rgb


def _treat_bomb_warnings_as_errors() -> None:
    """Make Pillow's DecompressionBombWarning raise, so a near-bomb is refused, not decoded.

    Set on every call rather than once at import: test runners and other code
    reset the warning filters. ``filterwarnings`` replaces an identical filter
    instead of adding another, so repeating it does not grow the list.
    """
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    """Rotate/flip as the EXIF Orientation tag says; a broken EXIF block is ignored."""
    try:
        return ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise
    except Exception:
        # Unreadable metadata should not cost the user the picture itself.
        return image


_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, the way a person would expect to see it."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        return _sixteen_bit_to_rgb(image)
    if mode == "F":
        return _float_to_rgb(image)
    if mode in _ALPHA_MODES or (mode in ("P", "L", "RGB") and "transparency" in image.info):
        # Transparent areas become white, as on a web page, not black as a bare
        # convert("RGB") would leave them.
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    try:
        return image.convert("RGB")  # RGB, L, 1, P, CMYK, YCbCr, LAB, HSV, RGBX
    except ValueError:
        raise ImageRejected(
            f"The image uses the colour mode {mode}, which cannot be shown as RGB. "
            "Save it as an ordinary RGB JPEG or PNG and upload it again."
        ) from None


def _sixteen_bit_to_rgb(image: Image.Image) -> Image.Image:
    """Scale 16-bit grey (0-65535) to 8 bits (0-255); Pillow's own convert clips instead.

    Mode ``I`` (32-bit integers) is treated as 16-bit too: that is how 16-bit
    PNG and TIFF files come out of some Pillow versions.
    """
    values = np.asarray(image).astype(np.float64)
    grey = np.rint(np.clip(values, 0, 65535) / 257.0).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _float_to_rgb(image: Image.Image) -> Image.Image:
    """Map a floating-point image to 0-255: 0-1 data is scaled, anything else clipped."""
    values = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    if values.size and values.max() <= 1.0:
        values = values * 255.0
    grey = np.rint(np.clip(values, 0, 255)).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _too_many_pixels_message(size: tuple[int, int] | None, max_pixels: int) -> str:
    limit = f"{max_pixels / 1e6:g} megapixels"
    if size is None:
        return f"The image has far more pixels than the limit of {limit}. Resize it and upload it again."
    width, height = size
    return (
        f"The image is {width} x {height} pixels ({width * height / 1e6:.1f} megapixels); "
        f"the limit is {limit}. Resize it and upload it again."
    )


def _damaged_message() -> str:
    return (
        "The image is damaged or incomplete (the file may have been cut short). "
        "Open and save it again, or choose another file."
    )


def _not_accepted_message(what: str) -> str:
    return (
        f"This file is {what}, which is not accepted. "
        f"Upload a {ACCEPTED_FORMATS_TEXT} image (convert it first if needed)."
    )


def _unidentified_message(data: bytes) -> str:
    """Say what the file seems to be, from its first bytes, when Pillow found no accepted format."""
    for signature, name in _ACCEPTED_SIGNATURES.items():
        if data.startswith(signature):
            return (
                f"The file starts like a {name} image but is damaged or incomplete. "
                "Open and save it again, or choose another file."
            )
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "The file starts like a WebP image but is damaged or incomplete. Open and save it again, or choose another file."
    for signature, name in _OTHER_SIGNATURES.items():
        if data.startswith(signature):
            return _not_accepted_message(name)
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return _not_accepted_message("a HEIC photo")
        if brand in (b"avif", b"avis"):
            return _not_accepted_message("an AVIF image")
        return _not_accepted_message("a video")
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        return _not_accepted_message("an SVG drawing")
    if head.startswith((b"<!doctype html", b"<html")):
        return _not_accepted_message("a web page")
    if len(data) >= 3 and data[0] == 0x0A and data[1] in (0, 2, 3, 4, 5) and data[2] == 1:
        return _not_accepted_message("a PCX image")
    return f"This file is not an image in an accepted format ({ACCEPTED_FORMATS_TEXT}). Choose an image file."


# Side of the box the Classify page shows an uploaded image in, in pixels.
PREVIEW_BOX = 160


def preview_image(image, box: int = PREVIEW_BOX) -> Image.Image:
    """``image`` (PIL or uint8 array) fitted inside a ``box`` x ``box`` square for display, never 0 pixels high or wide.

    Browsers (and Streamlit's own resize) would shrink a 4000 x 10 strip to
    160 x 0.4 pixels, which is no image at all; here each side keeps at least one
    pixel. Small images (CIFAR-10's 32 x 32) are enlarged by repeating pixels,
    so they stay sharp instead of blurring.
    """
    if box < 1:
        raise ValueError(f"box must be at least 1 pixel, got {box}")
    picture = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    width, height = picture.size
    longest = max(width, height)
    if longest * 2 <= box:
        factor = box // longest
        return picture.resize((width * factor, height * factor), Image.Resampling.NEAREST)
    scale = min(1.0, box / longest)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return picture if size == picture.size else picture.resize(size, Image.Resampling.LANCZOS)
