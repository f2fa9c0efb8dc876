"""The study's findings, first on the Overview and the Report: each suite question answered in one sentence.

UI only: the sentences come from ``analysis.findings.suite_findings``. They do
not depend on the session, so they are computed once per change of the
artifacts folder (its runs' files, their statuses and the suite records) and
shared by every session.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analysis.findings import (STATUS_ANSWERED, STATUS_AT_CHANCE, STATUS_NO_DIFFERENCE, STATUS_SKIPPED,
                               STATUS_WAITING, SuiteFindings, runs_asked_about, suite_findings)
from analysis.sides import GROUP_PREFIX
from analysis.trajectory import curve_reader
from dashboard import state
from runstore.history import read_history
from runstore.images_seen import read_images_seen
from runstore.predictions import read_predictions
from runstore.suite_record import SUITES_DIR, read_suite_records
from runstore.status import STATUS_RUNNING

COMPARE_PAGE = "views/compare.py"
# How each status is shown: a badge colour and a word a reader scans for.
BADGES = {
    STATUS_ANSWERED: ":green-badge[:material/check_circle: answered]",
    STATUS_NO_DIFFERENCE: ":blue-badge[:material/drag_handle: no detectable difference]",
    STATUS_AT_CHANCE: ":orange-badge[:material/warning: at chance]",
    STATUS_SKIPPED: ":gray-badge[:material/block: skipped]",
    STATUS_WAITING: ":violet-badge[:material/hourglass_top: waiting]",
}


def _suites_key(folder: Path) -> tuple:
    """Name, size and modification time of every suite record: changes when a suite is recorded again."""
    try:
        files = sorted((folder / SUITES_DIR).glob("*.json"))
        return tuple((path.name, path.stat().st_size, path.stat().st_mtime_ns) for path in files)
    except OSError:
        return ()


@st.cache_data(max_entries=4, ttl=3600, show_spinner="Answering the suite's questions…")
def _cached_findings(folder: str, runs_key: tuple, suites_key: tuple, _runs) -> tuple[list[SuiteFindings], list[str]]:
    # _runs is not hashed: runs_key (file signature and every run's status) stands for it.
    records, problems = read_suite_records(folder)
    curves = curve_reader(lambda info: read_history(info.path))
    return suite_findings(records, _runs, lambda info: read_predictions(info.path),
                          read_images_seen(runs_asked_about(records, _runs)), curves), problems


def current_findings() -> tuple[list[SuiteFindings], list[str]]:
    """Every recorded suite's findings and the suite files that could not be read, for the runs as they are now."""
    shared = state.snapshot()
    # Statuses are part of the key: a killed trainer turns a run "interrupted" without changing a file.
    runs_key = (shared.signature, tuple((info.run_id, info.status) for info in shared.runs))
    return _cached_findings(str(shared.folder), runs_key, _suites_key(shared.folder), shared.runs)


def show_findings(link_to_compare: bool = True) -> None:
    """Each suite's questions with their finding sentences (and a link to the Compare view of each); nothing without suites."""
    suites, problems = current_findings()
    for problem in problems:
        st.warning(problem)
    for suite in suites:
        st.subheader(f"Findings of the {suite.name} suite")
        if suite.description:
            st.caption(suite.description)
        for position, finding in enumerate(suite.findings):
            with st.container(border=True, key=f"finding_{suite.name}_{position}"):
                st.markdown(f"**{finding.title}** {BADGES.get(finding.status, finding.status)}")
                st.markdown(finding.sentence)
                if finding.budget:
                    st.markdown(f":material/trending_up: {finding.budget}")
                if finding.note:
                    st.caption(finding.note)
                query = finding.compare_query()
                if link_to_compare and query:
                    runner_up, best = (key.removeprefix(GROUP_PREFIX) for key in finding.compare)
                    st.page_link(COMPARE_PAGE, label=f"Compare {best} with {runner_up}",
                                 icon=":material/compare_arrows:", query_params=query)


def live_findings(link_to_compare: bool = True) -> None:
    """``show_findings`` in a fragment that refreshes every few seconds while a run is training."""
    training = any(info.status == STATUS_RUNNING for info in state.snapshot().runs)
    refresh = state.LIVE_REFRESH_SECONDS if training else None
    st.fragment(run_every=refresh)(show_findings)(link_to_compare)
