"""Open one page of a running dashboard the way a browser tab does, without a browser, and close it.

Why: the dashboard warms Classify up (``serving.warmup``: TensorFlow, every
finished run's model, their traced inference) from the frame, after a page has
run, because Streamlit runs app code only inside a session. A server nobody has
visited yet is therefore cold. ``dashboard.launch`` calls ``open_page`` once the
server is healthy, so the warm-up starts at server start; the first real
visitor then finds the models loaded.

The conversation is the smallest a tab has: open the websocket
``/_stcore/stream`` (subprotocol ``streamlit``), send one ``rerun_script``
BackMsg naming the page by its URL path, read ForwardMsgs until that run's
``script_finished``, close. Only ``websockets`` (a Streamlit dependency) and
``streamlit.proto`` are used; no Streamlit runtime is started here.
(``bench/protocol_client.py`` is the full client the load benchmark uses.)

Usage::

    from dashboard.streamlit_patches.warm_session import open_page
    visit = open_page("http://127.0.0.1:8501")      # the default page (the Overview)
    visit.seconds, visit.error                       # error is None when the page ran to its end
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

PAGE_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class PageVisit:
    """One page run by ``open_page``: how long it took and, if it did not finish, why."""

    page: str
    seconds: float
    error: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the page's script ran to its end (its ``script_finished`` arrived)."""
        return self.error is None


def stream_url(base_url: str) -> str:
    """The websocket endpoint of the dashboard at ``base_url`` (http -> ws, https -> wss)."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path}/_stcore/stream"


def rerun_message(base_url: str, page: str) -> bytes:
    """The ``rerun_script`` BackMsg a tab sends when it opens ``base_url/page`` ("" is the default page)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    message = BackMsg()
    state = message.rerun_script
    state.page_name = page
    state.query_string = ""
    state.widget_states.SetInParent()
    state.context_info.timezone = "UTC"
    state.context_info.locale = "en-US"
    state.context_info.url = f"{base_url.rstrip('/')}/{page}"
    return message.SerializeToString()


def import_protocol() -> None:
    """Import what ``open_page`` needs (Streamlit's protobuf messages, the websocket client) in the calling thread.

    Call it before ``open_page`` runs in a background thread: importing the
    ``streamlit`` package in two threads at once ends in Python's "partially
    initialized module" ImportError (seen when a benchmark imported Streamlit
    while the warm-up thread did).
    """
    import streamlit.proto.BackMsg_pb2  # noqa: F401
    import streamlit.proto.ForwardMsg_pb2  # noqa: F401
    import websockets.sync.client  # noqa: F401


def open_page(base_url: str, page: str = "", timeout: float = PAGE_TIMEOUT_SECONDS) -> PageVisit:
    """Run ``page`` once in a new session of the server at ``base_url``, then close the session.

    Never raises for a server that fails or is gone: the reason is in ``PageVisit.error``
    (a warm-up that cannot run must not stop the server it was meant to help).
    """
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    started = time.monotonic()
    deadline = started + timeout
    try:
        # proxy=None: a loopback server is never reached through the user's HTTP proxy.
        with connect(stream_url(base_url), subprotocols=["streamlit"], open_timeout=timeout, max_size=None,
                     proxy=None, ping_interval=None) as websocket:
            websocket.send(rerun_message(base_url, page))
            while True:
                message = ForwardMsg()
                message.ParseFromString(websocket.recv(timeout=max(0.1, deadline - time.monotonic())))
                if message.WhichOneof("type") != "script_finished":
                    continue
                status = message.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the page called st.rerun: another run follows
                error = "the app did not compile" if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR else None
                return PageVisit(page, time.monotonic() - started, error)
    except TimeoutError:
        return PageVisit(page, time.monotonic() - started, f"the page did not finish within {timeout:.0f} s")
    except Exception as error:  # a refused or dropped connection raises OSError or the library's own errors
        return PageVisit(page, time.monotonic() - started, f"{type(error).__name__}: {error}")
