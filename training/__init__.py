"""Offline training jobs for the CIFAR-10 model lab. Run ``python -m training --help``.

Importing this package is cheap (no TensorFlow), so the CLI's listings and
suite plans start at once; ``from training import LabCallback`` loads Keras only
when the name is first used. The reading side (``analysis``, ``serving``,
``dashboard``) never imports ``training``: it reads the run contract, ``runstore``.
"""

__all__ = ["LabCallback"]


def __getattr__(name: str):
    # Module-level __getattr__ (PEP 562): the callback subclasses a Keras class, so
    # importing it eagerly would make every `import training` pay for TensorFlow.
    if name == "LabCallback":
        from training.lab_callback import LabCallback

        return LabCallback
    raise AttributeError(f"module 'training' has no attribute {name!r}")
