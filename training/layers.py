"""The lab's custom Keras layers, re-exported from ``labkeras.layers`` for training code.

They live in ``labkeras`` so readers (``serving``) load saved models without
importing ``training``; ``import training.layers`` still registers them.
"""

from labkeras.layers import (  # noqa: F401  (re-exported)
    REGISTERED_PACKAGE,
    VGG16_BGR_MEANS,
    FastGradConv2D,
    VggCaffePreprocessing,
    conv_input_gradient,
    fast_gradient_conv2d,
)
