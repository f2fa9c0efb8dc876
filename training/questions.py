"""A suite's questions: sets of groups that differ in exactly one setting, at an equal budget.

A question in ``training/suites.json`` reads::

    {"title": "Does depth help?", "factor": "blocks", "groups": ["demo-depth-b1", "demo-depth-b3"]}

``factor`` names the one config setting its groups differ in; every other setting
must be equal, or the question would not say *why* one group did better. A list
of settings (``["optimizer", "learning_rate"]``) is one factor whose parts vary
together: each optimizer at the learning rate that suits it. A factor
of ``"recipe"`` compares whole recipes (model, optimizer, schedule...) at an equal
budget instead: the settings listed in ``"equal"`` (by default the time budget and
the test images) must match, everything else may differ. ``"requires": "imagenet"``
marks a question that only means something with ImageNet weights: without them it
is skipped with a finding that says so (see ``analysis.findings``).

``validate_questions`` refuses a broken question with a message that names the
group and the setting at fault.
"""

from __future__ import annotations

from training.replicates import NOT_PART_OF_A_GROUP

QUESTION_KEYS = ("title", "factor", "groups", "equal", "requires", "note")
RECIPE = "recipe"
RECIPE_EQUAL_BY_DEFAULT = ("time_budget_seconds", "test_limit")
REQUIREMENTS = ("imagenet",)


class QuestionError(ValueError):
    """A suite question that does not hold; the message names the group and setting at fault."""


def _settings(config: dict) -> dict:
    return {key: value for key, value in config.items() if key not in NOT_PART_OF_A_GROUP}


def validate_questions(suite_name: str, questions: list, group_configs: dict[str, dict]) -> list[dict]:
    """Check ``questions`` against ``group_configs`` (group name -> one member's resolved config dict).

    Returns the questions as plain dicts with defaults filled in; raises ``QuestionError``.
    """
    if not isinstance(questions, list):
        raise QuestionError(f"Suite {suite_name!r}: 'questions' must be a list")
    checked = []
    for index, question in enumerate(questions):
        where = f"Suite {suite_name!r}, question {index + 1}"
        if not isinstance(question, dict):
            raise QuestionError(f"{where} must be an object with title, factor and groups")
        unknown = sorted(set(question) - set(QUESTION_KEYS))
        if unknown:
            raise QuestionError(f"{where} has unknown key(s) {', '.join(unknown)}; valid: {', '.join(QUESTION_KEYS)}")
        title, factor, groups = question.get("title"), question.get("factor"), question.get("groups")
        if not isinstance(title, str) or not title.strip():
            raise QuestionError(f"{where} needs a 'title' sentence")
        where = f"{where} ({title!r})"
        if not isinstance(groups, list) or len(groups) < 2 or not all(isinstance(group, str) for group in groups):
            raise QuestionError(f"{where} needs 'groups': a list of at least two group names")
        if len(set(groups)) != len(groups):
            raise QuestionError(f"{where} names a group twice")
        missing = [group for group in groups if group not in group_configs]
        if missing:
            raise QuestionError(f"{where} names group(s) {', '.join(missing)} that the suite does not define; "
                                f"its groups are: {', '.join(group_configs)}")
        if question.get("requires") not in (None, *REQUIREMENTS):
            raise QuestionError(f"{where}: 'requires' may only be {', '.join(REQUIREMENTS)}")
        settings = [_settings(group_configs[group]) for group in groups]
        if factor == RECIPE:
            equal = question.get("equal", list(RECIPE_EQUAL_BY_DEFAULT))
            _check_equal(where, groups, settings, equal)
        else:
            parts = [factor] if isinstance(factor, str) else factor
            if not isinstance(parts, list) or not parts or not all(isinstance(part, str) and part in settings[0] for part in parts):
                raise QuestionError(f"{where}: 'factor' must be a config setting, a list of settings or 'recipe', got {factor!r}")
            values = [tuple(setting.get(part) for part in parts) for setting in settings]
            if len(set(map(repr, values))) != len(values):
                shown = [value[0] if len(parts) == 1 else list(value) for value in values]
                raise QuestionError(f"{where}: its groups must each have a different {' and '.join(parts)}, got {shown}")
            others = sorted({key for setting in settings for key in setting} - set(parts))
            _check_equal(where, groups, settings, others)
            equal = others
        checked.append({**question, "equal": list(equal)})
    return checked


def _check_equal(where: str, groups: list[str], settings: list[dict], keys) -> None:
    """Raise ``QuestionError`` naming each key in ``keys`` on which the groups' settings differ."""
    differing = []
    for key in keys:
        values = [setting.get(key) for setting in settings]
        if len(set(map(repr, values))) > 1:
            shown = ", ".join(f"{group}={value!r}" for group, value in zip(groups, values))
            differing.append(f"{key} ({shown})")
    if differing:
        raise QuestionError(f"{where} is not a controlled comparison: its groups also differ in {'; '.join(differing)}. "
                            "Make those settings equal, or make it a 'recipe' question with an equal budget.")
