"""Seeds as replicates: one configuration trained once per seed, the runs sharing a ``group``.

What a seed varies, and what it does not:

- ``seed`` drives the *training randomness* only: weight initialisation, the order
  the training images are shuffled in, the augmentation draws and dropout masks.
- ``split_seed`` (default 0, the same for every replicate) picks the validation set
  and the training subset (``train_limit``), so replicates of one group see exactly
  the same images and differ only in how training went.

So the spread of a group's test accuracies is the seed-to-seed variation of that
configuration at that budget, which is what a comparison of two groups must beat.

Usage::

    from training.replicates import expand_seeds, parse_seeds
    for values in expand_seeds({"model": "simple_cnn", "blocks": 1, "run_id": "depth-b1"}, parse_seeds("0,1,2")):
        ...  # run ids depth-b1-s0, depth-b1-s1, depth-b1-s2, all in group depth-b1
"""

from __future__ import annotations

import hashlib
import json

# Config keys that say where or how a run executes, not what it computes: they never
# split a group (two replicates on different machines still belong together).
NOT_PART_OF_A_GROUP = ("seed", "run_id", "group", "artifacts_dir", "data_dir", "suite", "strategy")
MAX_SEEDS = 100


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` or ``"0-4"`` as a list of distinct non-negative seeds, in the order given."""
    seeds: list[int] = []
    for part in (piece.strip() for piece in str(text).split(",")):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                low, high = (int(value) for value in part.split("-", 1))
                if high < low:
                    raise ValueError
                seeds.extend(range(low, high + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ValueError(f"Cannot read the seeds {text!r}: give whole numbers separated by commas, e.g. 0,1,2, or a range such as 0-4") from None
    if not seeds:
        raise ValueError(f"No seeds in {text!r}: give whole numbers separated by commas, e.g. 0,1,2")
    if any(seed < 0 for seed in seeds):
        raise ValueError(f"Seeds must be 0 or more, got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"Seeds {text!r} repeat a seed; each replicate needs its own")
    if len(seeds) > MAX_SEEDS:
        raise ValueError(f"{len(seeds)} seeds is more than {MAX_SEEDS}; split the study into several commands")
    return seeds


def group_name(config: dict) -> str:
    """A readable name for ``config`` without its seed: model, blocks, optimizer, lr, epochs, images, then a short hash.

    Two configurations get the same name exactly when they compute the same thing
    (every setting but those in ``NOT_PART_OF_A_GROUP`` equal), so runs launched
    separately with the same settings and different seeds fall into one group.
    """
    settings = {key: value for key, value in config.items() if key not in NOT_PART_OF_A_GROUP}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:6]
    parts = [str(config["model"])]
    if config.get("blocks"):
        parts.append(f"b{config['blocks']}")
    if config.get("optimizer"):
        parts.append(str(config["optimizer"]))
    if config.get("learning_rate") is not None:
        parts.append(f"lr{config['learning_rate']:g}")
    if config.get("epochs") is not None:
        parts.append(f"e{config['epochs']}")
    if config.get("train_limit"):
        parts.append(f"n{config['train_limit']}")
    parts.append(digest)
    return "-".join(parts)


def replicate_run_id(base: str, seed: int) -> str:
    """The run id of seed ``seed`` of a group whose runs are named after ``base``."""
    return f"{base}-s{seed}"


def expand_seeds(values: dict, seeds: list[int] | None) -> list[dict]:
    """One configuration mapping per seed: ``run_id`` gets ``-s<seed>``, ``group`` defaults to the given run id.

    Without seeds the mapping comes back alone and unchanged. A given ``run_id`` names
    the group (``depth-b1`` -> runs ``depth-b1-s0``...), unless ``group`` is set too.
    """
    if not seeds:
        return [dict(values)]
    expanded = []
    for seed in seeds:
        replicate = {**values, "seed": seed}
        if values.get("run_id"):
            replicate["run_id"] = replicate_run_id(values["run_id"], seed)
            replicate.setdefault("group", values["run_id"])
        expanded.append(replicate)
    return expanded
