"""One simulated dashboard user that speaks Streamlit's own browser protocol, without a browser.

What a browser tab does, and this client repeats (checked against Chromium with
``python bench/load.py --check-browser``):

1. ``GET /_stcore/health`` and ``GET /_stcore/host-config``, then open the
   websocket ``/_stcore/stream`` with subprotocol ``streamlit``.
2. Load a page: send a ``rerun_script`` BackMsg whose ClientState carries the
   page's URL path as ``page_name`` (first load) or its ``page_script_hash``
   (a sidebar click), the query string, and the hashes of the large messages
   it already holds (``cached_message_hashes``, so the server sends references).
3. Read ForwardMsgs until ``script_finished``: note which page ran
   (``new_session.page_script_hash``), the pages the app offers (``navigation``),
   any exception or error box, and every ``/media/...`` URL the page shows.
4. Fetch those media files over HTTP (once per session: the browser caches them).

Cookies are kept and sent back as a browser does (HTTP requests and the
websocket handshake), so behind ``dashboard/serve.py``'s nginx every request of
one session reaches the same Streamlit process.

A view's time is from sending the rerun to the last media byte. Only the
Python standard library, ``websockets`` (a Streamlit dependency) and
``streamlit.proto`` are used, so a session costs the harness little CPU and the
figures are the server's.

    session = ProtocolSession("http://127.0.0.1:8501")
    await session.open()
    view = await session.visit("curves")        # first page: by URL path
    view = await session.visit("overview")      # later pages: as a sidebar click
    await session.close()
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# A media URL inside a serialised element: images, audio, video and downloads all live under /media/.
MEDIA_URL = re.compile(rb"/media/[A-Za-z0-9_\-]+\.[A-Za-z0-9]+")
# The browser forgets cached messages after this many script runs unless NewSession says otherwise.
DEFAULT_MAX_CACHED_MESSAGE_AGE = 2


class ProtocolError(RuntimeError):
    """The server did something a browser would show as broken (closed, timed out, page missing)."""


@dataclass
class View:
    """One page view as a user experiences it."""

    page: str
    seconds: float = 0.0
    script_seconds: float = 0.0
    ran_page_hash: str = ""
    expected_page_hash: str = ""
    media_urls: list[str] = field(default_factory=list)
    media_bytes: int = 0
    messages: int = 0
    error: str | None = None

    @property
    def ran_expected_page(self) -> bool:
        """True when the server ran the page asked for (known once the app listed its pages)."""
        return bool(self.ran_page_hash) and self.ran_page_hash == self.expected_page_hash


@dataclass
class _CachedMessage:
    media_urls: list[str]
    errors: list[str]
    last_run: int


def cookie_header(cookies: dict[str, str]) -> str:
    """The ``Cookie`` request header a browser sends for ``cookies`` (name -> value)."""
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def read_set_cookies(head: bytes) -> dict[str, str]:
    """Name -> value of every ``Set-Cookie`` in a response head (attributes such as Path are dropped)."""
    found = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "set-cookie":
            pair = value.strip().split(";", 1)[0]
            cookie_name, separator, cookie_value = pair.partition("=")
            if separator and cookie_name.strip():
                found[cookie_name.strip()] = cookie_value.strip()
    return found


async def http_get(base_url: str, path: str, timeout: float, cookies: dict[str, str] | None = None) -> tuple[int, int]:
    """``GET path`` over a fresh HTTP/1.1 connection; return (status, body bytes). Raises ``ProtocolError``.

    ``cookies`` is a browser's cookie jar: sent with the request and updated with the
    answer's ``Set-Cookie``s, so a proxy's sticky-session cookie is sent back as a browser does.
    """
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def fetch() -> tuple[int, int]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            cookie_line = f"Cookie: {cookie_header(cookies)}\r\n" if cookies else ""
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
                         f"Accept-Encoding: gzip\r\n{cookie_line}\r\n".encode())
            await writer.drain()
            response = await reader.read()
        finally:
            writer.close()
        head, _, body = response.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or not status_line[1].isdigit():
            raise ProtocolError(f"GET {path}: no HTTP status in the answer")
        if cookies is not None:
            cookies.update(read_set_cookies(head))
        return int(status_line[1]), len(body)

    try:
        return await asyncio.wait_for(fetch(), timeout)
    except (OSError, asyncio.TimeoutError) as failure:
        raise ProtocolError(f"GET {path}: {type(failure).__name__} {failure}") from failure


def websocket_url(base_url: str) -> str:
    """The stream endpoint for ``base_url`` (http -> ws, https -> wss)."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path}/_stcore/stream"


class ProtocolSession:
    """One browser tab's conversation with a Streamlit server: open, visit pages, close."""

    def __init__(self, base_url: str, timeout: float = 60.0, fetch_media: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.fetch_media = fetch_media
        self.page_hashes: dict[str, str] = {}  # URL path -> page_script_hash, from the navigation message
        self.click_hashes: dict[str, str] = {}  # URL path -> the hash its sidebar link sends
        self.fetched_media: set[str] = set()
        # The tab's cookie jar: behind dashboard/serve.py's nginx, the labsession cookie pins it to one backend.
        self.cookies: dict[str, str] = {}
        self.session_id = ""
        self._websocket = None
        self._cache: dict[str, _CachedMessage] = {}
        self._max_cached_age = DEFAULT_MAX_CACHED_MESSAGE_AGE
        self._runs = 0

    async def open(self) -> None:
        """What a tab does before its first page: the HTML page, health check, host config, then the websocket.

        The JavaScript bundle is left out: a browser caches it, and it costs the server nothing per view.
        """
        from websockets.asyncio.client import connect

        for path in ("/", "/_stcore/health", "/_stcore/host-config"):
            status, _ = await http_get(self.base_url, path, self.timeout, self.cookies)
            if status != 200:
                raise ProtocolError(f"GET {path} answered {status}")
        try:
            self._websocket = await asyncio.wait_for(
                connect(websocket_url(self.base_url), subprotocols=["streamlit"], max_size=None,
                        open_timeout=self.timeout, ping_interval=None,
                        additional_headers={"Cookie": cookie_header(self.cookies)} if self.cookies else None),
                self.timeout)
        except (OSError, asyncio.TimeoutError) as failure:
            raise ProtocolError(f"the websocket did not open: {type(failure).__name__} {failure}") from failure

    async def close(self) -> None:
        """Close the tab (the server then drops the session)."""
        if self._websocket is not None:
            await self._websocket.close()
            self._websocket = None

    def rerun_message(self, page: str, query_string: str = "") -> bytes:
        """The ``rerun_script`` BackMsg a browser sends to show ``page`` (URL path, "" for the default page)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = query_string
        state.widget_states.SetInParent()
        known_hash = self.click_hashes.get(page)
        if known_hash:
            # A sidebar click: the frontend knows the page by hash and leaves the name empty.
            state.page_script_hash = known_hash
        else:
            # A typed URL (or the first load): only the path is known.
            state.page_name = page
        state.cached_message_hashes.extend(self._cache)
        # The browser describes itself on every rerun (st.context reads it).
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = f"{self.base_url}/{page}"
        return message.SerializeToString()

    async def visit(self, page: str, query_string: str = "") -> View:
        """Show ``page`` the way a browser does and time it; failures are returned in ``View.error``."""
        view = View(page)
        # Known before the run only when the page is reached by a click (by hash); by URL, the server decides.
        clicked_hash = self.click_hashes.get(page, "")
        start = time.perf_counter()
        try:
            if self._websocket is None:
                raise ProtocolError("the session is not open")
            await self._websocket.send(self.rerun_message(page, query_string))
            media = await asyncio.wait_for(self._read_until_finished(view), self.timeout)
            view.script_seconds = time.perf_counter() - start
            view.media_urls = media
            if self.fetch_media:
                await self._fetch_media(view, media)
        except ProtocolError as failure:
            view.error = str(failure)
        except asyncio.TimeoutError:
            view.error = f"no script_finished within {self.timeout:.0f} s"
        except Exception as failure:  # a closed websocket raises the library's own errors
            view.error = f"{type(failure).__name__}: {failure}"
        view.seconds = time.perf_counter() - start
        if view.error is None and self.page_hashes:
            view.expected_page_hash = clicked_hash or self.page_hashes.get(page, "")
            if not view.ran_expected_page:
                view.error = f"asked for page {page!r} but the server ran another ({view.ran_page_hash})"
        return view

    async def _read_until_finished(self, view: View) -> list[str]:
        """Read ForwardMsgs until this run's ``script_finished``; return the page's media URLs, in order."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._runs += 1
        media: list[str] = []
        errors: list[str] = []
        while True:
            frame = await self._websocket.recv()
            message = ForwardMsg()
            message.ParseFromString(frame)
            view.messages += 1
            kind = message.WhichOneof("type")
            if kind == "delta":
                urls, problems = self._read_delta(message, frame)
                media.extend(urls)
                errors.extend(problems)
            elif kind == "ref_hash":
                cached = self._cache.get(message.ref_hash)
                if cached is None:
                    raise ProtocolError(f"the server referred to a message this tab never had ({message.ref_hash})")
                cached.last_run = self._runs
                media.extend(cached.media_urls)
                errors.extend(cached.errors)
            elif kind == "new_session":
                self.session_id = message.new_session.initialize.session_id or self.session_id
                age = message.new_session.config.max_cached_message_age
                self._max_cached_age = age or self._max_cached_age
            elif kind == "navigation":
                pages = message.navigation.app_pages
                self.page_hashes = {page.url_pathname: page.page_script_hash for page in pages}
                self.page_hashes.update({"": page.page_script_hash for page in pages if page.is_default})
                # A sidebar link is the visible page: a hidden alias (/overview) is clicked as its visible twin.
                visible = {page.page_name: page.page_script_hash for page in pages if not page.is_hidden}
                self.click_hashes = {page.url_pathname: visible.get(page.page_name, page.page_script_hash)
                                     if page.is_hidden else page.page_script_hash for page in pages}
                self.click_hashes[""] = self.page_hashes.get("", "")
                # With st.navigation the frame picks the page while it runs, so this, not
                # new_session's hash (the entry script's), names the page that ran.
                view.ran_page_hash = message.navigation.page_script_hash
            elif kind == "page_not_found":
                errors.append(f"page not found: {message.page_not_found.page_name!r}")
            elif kind == "script_finished":
                status = message.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the app called st.rerun (or a query parameter changed): another run follows
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    errors.append("the script did not compile")
                break
        self._forget_old_messages()
        if errors:
            raise ProtocolError("; ".join(dict.fromkeys(errors)))
        return list(dict.fromkeys(media))

    def _read_delta(self, message, frame: bytes) -> tuple[list[str], list[str]]:
        """The media URLs and user-visible errors in one delta; remembered when the browser would cache it."""
        urls = [url.decode() for url in MEDIA_URL.findall(frame)]
        problems = []
        if message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            element_type = element.WhichOneof("type")
            if element_type == "exception":
                problems.append(f"exception shown: {element.exception.type}: {element.exception.message[:200]}")
            elif element_type == "alert" and element.alert.format == element.alert.ERROR:
                problems.append(f"error box shown: {element.alert.body[:200]}")
        if message.metadata.cacheable and message.hash:
            self._cache[message.hash] = _CachedMessage(urls, problems, self._runs)
        return urls, problems

    def _forget_old_messages(self) -> None:
        # The frontend drops messages not used for max_cached_message_age runs; so does this tab,
        # so it only ever advertises what it still holds.
        oldest = self._runs - self._max_cached_age
        for message_hash in [key for key, cached in self._cache.items() if cached.last_run < oldest]:
            del self._cache[message_hash]

    async def _fetch_media(self, view: View, urls: list[str]) -> None:
        """GET the page's media the browser does not have yet, six at a time as a browser does."""
        new = [url for url in urls if url not in self.fetched_media]
        limit = asyncio.Semaphore(6)

        async def fetch(url: str) -> int:
            async with limit:
                status, size = await http_get(self.base_url, url, self.timeout, self.cookies)
            if status != 200:
                raise ProtocolError(f"GET {url} answered {status}")
            return size

        sizes = await asyncio.gather(*(fetch(url) for url in new))
        view.media_bytes = sum(sizes)
        self.fetched_media.update(new)
