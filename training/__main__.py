"""``python -m training``: see ``training.cli``."""

import os
import sys

# TensorFlow's C++ start-up chatter (CUDA probes, CPU feature notes) buries the
# CLI's own output; users can still set TF_CPP_MIN_LOG_LEVEL=0 to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from training.cli import main  # noqa: E402

sys.exit(main())
