"""What the Streamlit patches need from Streamlit's internals, checked without starting Streamlit.

Usage::

    from dashboard.streamlit_patches.internals import check_internals, installed_streamlit, pinned_streamlit
    problems = check_internals()   # [] when the installed Streamlit still has everything the patches touch
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"
# The end-of-run hook script_run_cost replaces (see script_run_cost.STREAMLIT_HOOK).
CLEANUP_HOOK = "_clean_problem_modules"
# The protocol fields warm_session sets or reads.
RERUN_SCRIPT_FIELDS = ("page_name", "query_string", "widget_states", "context_info")
CONTEXT_INFO_FIELDS = ("timezone", "locale", "url")
SCRIPT_FINISHED_STATUSES = ("FINISHED_SUCCESSFULLY", "FINISHED_EARLY_FOR_RERUN", "FINISHED_WITH_COMPILE_ERROR")


def installed_streamlit() -> str:
    """The version of the Streamlit this process imports."""
    import streamlit

    return streamlit.__version__


def pinned_streamlit(requirements: Path = REQUIREMENTS) -> str | None:
    """The version ``requirements.txt`` pins Streamlit to (``streamlit==X``), or None when it pins none."""
    match = re.search(r"^streamlit==([^\s;#]+)", requirements.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return match.group(1) if match else None


def _cleanup_hook_problems() -> list[str]:
    from streamlit.runtime.scriptrunner import script_runner

    hook = getattr(script_runner, CLEANUP_HOOK, None)
    if hook is None:
        return [f"streamlit.runtime.scriptrunner.script_runner has no {CLEANUP_HOOK} (script_run_cost replaces it)"]
    problems = []
    if not callable(hook) or inspect.signature(hook).parameters:
        problems.append(f"script_runner.{CLEANUP_HOOK} is no longer a function of no arguments")
    # The patch replaces the module attribute, which only works while ScriptRunner looks the
    # function up by that global name when a run ends (1.67: ``_log_if_error(_clean_problem_modules)``).
    source = inspect.getsource(script_runner)
    if not re.search(rf"(?<!def )\b{CLEANUP_HOOK}\b(?!\s*\()", source) and not re.search(rf"(?<!def ){CLEANUP_HOOK}\(\)", source):
        problems.append(f"script_runner no longer uses {CLEANUP_HOOK} by name, so replacing it changes nothing")
    return problems


def _protocol_problems() -> list[str]:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    problems = []
    back_fields = BackMsg.DESCRIPTOR.fields_by_name
    if "rerun_script" not in back_fields:
        return ["BackMsg has no rerun_script (warm_session sends one)"]
    rerun = back_fields["rerun_script"].message_type.fields_by_name
    problems += [f"BackMsg.rerun_script has no {name}" for name in RERUN_SCRIPT_FIELDS if name not in rerun]
    if "context_info" in rerun:
        context = rerun["context_info"].message_type.fields_by_name
        problems += [f"BackMsg.rerun_script.context_info has no {name}" for name in CONTEXT_INFO_FIELDS
                     if name not in context]
    if "script_finished" not in ForwardMsg.DESCRIPTOR.fields_by_name:
        problems.append("ForwardMsg has no script_finished (warm_session waits for it)")
    problems += [f"ForwardMsg has no status {name}" for name in SCRIPT_FINISHED_STATUSES if not hasattr(ForwardMsg, name)]
    return problems


def check_internals() -> list[str]:
    """Each Streamlit internal a patch of this package touches that the installed Streamlit lacks or changed."""
    # The websocket path (/_stcore/stream) is not checked here: tests/test_warm_session.py opens it on a real server.
    return _cleanup_hook_problems() + _protocol_problems()
