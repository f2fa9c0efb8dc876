"""Serving: everything between a user's file and a model's answer, kept free of Streamlit.

- ``serving.uploads``: turn uploaded bytes into a safe RGB image, or a clear refusal.
- ``serving.models``: load a run's ``model.keras`` only after checking where it is and its SHA-256.
- ``serving.predict``: the exact model input, batched inference, top-k, majority vote, latency.
- ``serving.gradcam``: Grad-CAM heatmaps on a model's last convolution, and their overlay.

Importing this package is cheap: TensorFlow and Keras are imported only by the
functions that need them.
"""
