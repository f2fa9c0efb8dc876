"""The Streamlit internals the dashboard's patches touch still exist, with what the patches expect.

``dashboard/streamlit_patches`` lists each patch and the internal it touches. A Streamlit
upgrade that renames or reshapes one fails here, naming the installed and the pinned
version, before a served dashboard silently pays 0.2 s a view again or never warms up.
"""

from __future__ import annotations

import types

import pytest

from dashboard.streamlit_patches import internals, script_run_cost


def _versions() -> str:
    return (f"installed Streamlit {internals.installed_streamlit()}, pinned {internals.pinned_streamlit()} "
            "(requirements.txt); see dashboard/streamlit_patches/__init__.py")


def test_every_internal_the_patches_touch_is_in_the_installed_streamlit():
    problems = internals.check_internals()
    assert not problems, f"{_versions()}: " + "; ".join(problems)


def test_the_installed_streamlit_is_the_pinned_one():
    pinned = internals.pinned_streamlit()
    assert pinned is not None, "requirements.txt must pin streamlit==X: the patches are checked against one version"
    assert internals.installed_streamlit() == pinned, (
        f"{_versions()}: run tests/test_streamlit_patches.py and the patches' own tests after the upgrade, then pin it")


def test_the_patch_and_the_check_name_the_same_hook():
    assert script_run_cost.STREAMLIT_HOOK == internals.CLEANUP_HOOK


def test_a_changed_hook_is_reported(monkeypatch):
    from streamlit.runtime.scriptrunner import script_runner

    monkeypatch.setattr(script_runner, internals.CLEANUP_HOOK, lambda reason: None)
    assert any("no arguments" in problem for problem in internals.check_internals())
    monkeypatch.delattr(script_runner, internals.CLEANUP_HOOK)
    assert any("has no _clean_problem_modules" in problem for problem in internals.check_internals())


def test_a_missing_protocol_field_is_reported(monkeypatch):
    import streamlit.proto.ForwardMsg_pb2 as forward

    class WithoutStatus:
        DESCRIPTOR = forward.ForwardMsg.DESCRIPTOR

    monkeypatch.setattr(forward, "ForwardMsg", WithoutStatus)
    assert "ForwardMsg has no status FINISHED_EARLY_FOR_RERUN" in internals.check_internals()


def test_the_pin_is_read_from_requirements(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==2.0\nstreamlit==9.9.9  # the dashboard\n")
    assert internals.pinned_streamlit(requirements) == "9.9.9"
    requirements.write_text("streamlit>=1\n")
    assert internals.pinned_streamlit(requirements) is None
