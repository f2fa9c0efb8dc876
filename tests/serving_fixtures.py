"""Small builders for the serving and security tests: encoded images and crafted files.

Everything is generated in memory from seeds, so the tests need no files on disk.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

# One small image per accepted format, as (Pillow save format, mode, save options).
ACCEPTED_SAMPLES = {
    "png": ("PNG", "RGB", {}),
    "jpeg": ("JPEG", "RGB", {"quality": 90}),
    "gif": ("GIF", "P", {}),
    "webp": ("WEBP", "RGB", {"quality": 80}),
    "bmp": ("BMP", "RGB", {}),
    "tiff": ("TIFF", "RGB", {}),
}


def gradient_image(width: int = 24, height: int = 16, seed: int = 0) -> Image.Image:
    """A seeded colourful RGB image with some structure (so compressors produce real streams)."""
    rng = np.random.default_rng(seed)
    ramp_x = np.linspace(0, 255, width)[None, :, None]
    ramp_y = np.linspace(0, 255, height)[:, None, None]
    noise = rng.integers(0, 40, size=(height, width, 3))
    pixels = np.clip(np.concatenate([ramp_x + 0 * ramp_y, ramp_y + 0 * ramp_x, (ramp_x + ramp_y) / 2], axis=2) + noise, 0, 255)
    return Image.fromarray(pixels.astype(np.uint8))


def encode(image: Image.Image, pillow_format: str, **options) -> bytes:
    """``image`` saved in ``pillow_format`` as bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format=pillow_format, **options)
    return buffer.getvalue()


def sample_bytes(kind: str, seed: int = 0) -> bytes:
    """A small valid file of an accepted format (see ``ACCEPTED_SAMPLES``)."""
    pillow_format, mode, options = ACCEPTED_SAMPLES[kind]
    image = gradient_image(seed=seed)
    if mode == "P":
        image = image.quantize(colors=16)
    return encode(image, pillow_format, **options)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG that claims ``width`` x ``height`` grey pixels: a decompression bomb's header.

    The single IDAT holds one compressed row, so the file is a few dozen bytes
    whatever size it claims; a decoder that trusted it would allocate width x height.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1)))
        + _png_chunk(b"IEND", b"")
    )
