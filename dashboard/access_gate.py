"""The frame's side of ``dashboard.access``: this server's access, the sidebar's notice and token field, the gate.

Every page that writes under the artifacts folder calls ``require_write`` before it
shows a widget that could write, and checks ``may_write`` again right before the
write itself (a callback runs on the server, whatever the browser was shown)::

    from dashboard import access_gate
    access_gate.require_write("Add a model")   # stops the page with the refusal when this session may not write
"""

from __future__ import annotations

import os

import streamlit as st

from dashboard.access import WRITES_TOKEN, Access, access_from_environment

# Session key of the sidebar's admin token field (never bound to the URL: a link must not carry it).
TOKEN_KEY = "admin_token"


def current() -> Access:
    """This server's access: its environment and the address Streamlit listens on (cheap: read on every run)."""
    return access_from_environment(os.environ, st.get_option("server.address"))


def may_write(access: Access | None = None) -> bool:
    """Whether this session may write under the artifacts folder now."""
    return (access or current()).may_write(st.session_state.get(TOKEN_KEY))


def require_write(what: str) -> Access:
    """Stop the page with the refusal when this session may not write; else return the access."""
    access = current()
    if not may_write(access):
        (st.warning if access.writes == WRITES_TOKEN else st.info)(access.refusal(what), icon=":material/lock:")
        st.stop()
    return access


def add_model_visible(access: Access) -> bool:
    """Whether Add a model is listed in the navigation: not in read-only mode (its URL still answers, refusing)."""
    return not access.read_only


def render_sidebar(access: Access) -> None:
    """The sidebar's notice (read-only, writes off) and, on a public server with a token, the token field."""
    with st.sidebar:
        notice = access.sidebar_notice()
        if notice:
            st.info(notice, icon=":material/lock:")
        if access.writes == WRITES_TOKEN:
            with st.expander("Admin", icon=":material/key:", expanded=False):
                st.text_input("Admin token", type="password", key=TOKEN_KEY,
                              help="The LAB_ADMIN_TOKEN this server was started with; it unlocks Add a model and measuring latency.")
                entered = st.session_state.get(TOKEN_KEY)
                if entered:
                    st.caption("Token accepted: Add a model is unlocked." if may_write(access)
                               else "That is not this server's token.")
