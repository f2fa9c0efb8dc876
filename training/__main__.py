"""``python -m training``: see ``training.cli`` (TensorFlow's start-up logs: ``training.quiet``)."""

import sys

from training.cli import main

sys.exit(main())
