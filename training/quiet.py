"""Start TensorFlow without its start-up chatter: ``start_tensorflow(verbose=False)``.

TensorFlow 2.21 writes its C++ start-up notes (the oneDNN notice, the CUDA stub
probe, twice: once per library that carries its own logger) and, at the first
device query, the cuInit error of a machine without a GPU, straight to file
descriptor 2 before its logger is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` no
longer hides them. The command line therefore imports TensorFlow and lists its
devices once with descriptor 2 pointed at a temporary file: the notes vanish,
and if the start-up itself fails they are written out after all, so nothing
that explains a failure is lost. Logs written later, while training, go
through as usual. ``python -m training --verbose`` skips all of this.

Importing this module imports no TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator

# TensorFlow's C++ log threshold once its logger is up: 2 keeps errors, drops info and warnings.
QUIET_LOG_LEVEL = "2"


@contextlib.contextmanager
def stderr_held_back() -> Iterator[None]:
    """Send everything written to file descriptor 2 (C++ included) to a temporary file; replay it on an error."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            os.write(2, held.read())  # what TensorFlow said may explain the failure
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def start_tensorflow(verbose: bool = False) -> None:
    """Import TensorFlow and Keras and find the devices; unless ``verbose``, with the start-up logs hidden."""
    if verbose:
        import tensorflow as tf

        tf.config.list_physical_devices()
        return
    # Must be set before TensorFlow is imported; a value the user set wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LOG_LEVEL)
    with stderr_held_back():
        import keras  # noqa: F401  (Keras' own import of TensorFlow logs too)
        import tensorflow as tf

        # The first device query loads the CUDA driver, which logs its own failure on a CPU-only machine.
        tf.config.list_physical_devices()
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
