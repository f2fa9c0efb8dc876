"""Offline training jobs for the CIFAR-10 model lab. Run ``python -m training --help``.

Importing this package is cheap (no TensorFlow): ``training.data`` and
``training.registry`` are used by the dashboard too.
"""
