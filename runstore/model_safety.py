"""What a Keras model file may contain before anything in it is loaded: the one scan both sides use.

The dashboard (``serving.models``) and the importer (``training.importer``) both
refuse a model whose config names a Lambda layer, a serialized Python lambda or
code outside Keras and the lab's own layers, and bound the sizes they read.
Pure Python: no Keras import, so the scan runs before Keras sees the file.
"""

from __future__ import annotations

from typing import Any

# The largest model of the study (ResNet50V2 at 224 px) is about 100 MB; a
# file ten times larger is not one of ours and is not worth hashing.
MAX_MODEL_BYTES = 1024 * 1024 * 1024
# config.json of the deepest model here is well under 1 MB; bounding it stops a
# zip bomb from filling memory while we inspect it.
MAX_CONFIG_BYTES = 64 * 1024 * 1024
KERAS_ARCHIVE_MEMBERS = ("config.json", "metadata.json")
# Modules a model's config may name: Keras itself and the lab's own layers.
# "training.layers" is where those layers lived before they moved to labkeras:
# configs saved then still name it. Keras finds the classes by their registered
# name ("cifarlab>..."), so allowing the string never imports training.
CUSTOM_LAYERS_MODULE = "labkeras.layers"
ALLOWED_CODE_MODULES = ("keras", CUSTOM_LAYERS_MODULE, "training.layers")


def find_unsafe_config(config: Any) -> str | None:
    """Describe the first Lambda layer or non-Keras code reference in a Keras config, or None."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        class_name = node.get("class_name")
        if class_name == "Lambda":
            return "contains a Lambda layer (arbitrary Python code)"
        if class_name == "__lambda__":
            return "contains a serialized Python lambda"
        module = node.get("module")
        if isinstance(module, str) and class_name is not None and not module_allowed(module):
            return f"refers to code in the module {module!r}"
        stack.extend(node.values())
    return None


def module_allowed(module: str) -> bool:
    return any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED_CODE_MODULES)
