"""Check the protocol client against a real Chromium visit: same BackMsgs, same pages run, same media.

Chromium (Debian's, through Playwright) opens the first page by URL and reaches
the others through the sidebar; every websocket frame it sends and receives is
decoded, and every HTTP request it makes is noted. Then ``ProtocolSession``
walks the same pages on the same server. The two walks should agree on which
page each view ran, on the media each page shows, and on the shape of the
``rerun_script`` messages (page by name first, then by hash).

    python bench/load.py --check-browser          # serves the bench runs and prints the comparison
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bench.protocol_client import MEDIA_URL, ProtocolSession

# Page URL path -> its link text in the sidebar (dashboard/app.py).
NAV_TITLES = {"overview": "Overview", "curves": "Curves", "confusion": "Confusion", "misclassified": "Misclassified",
              "compare": "Compare", "failures": "Failures", "report": "Report", "classify": "Classify", "data": "Data"}


@dataclass
class BrowserView:
    """What Chromium sent and fetched for one page."""

    page: str
    reruns: list[dict] = field(default_factory=list)
    ran_page_hash: str = ""
    media_shown: set[str] = field(default_factory=set)
    requested: list[str] = field(default_factory=list)


def describe_backmsg(frame: bytes) -> dict:
    """The fields of a BackMsg that matter for a page load, as a plain dict."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    message = BackMsg()
    message.ParseFromString(frame)
    kind = message.WhichOneof("type")
    if kind != "rerun_script":
        return {"type": kind}
    state = message.rerun_script
    return {"type": kind, "page_name": state.page_name, "page_script_hash": state.page_script_hash,
            "query_string": state.query_string, "widgets": [widget.id.split("-")[-1] for widget in state.widget_states.widgets],
            "cached_message_hashes": len(state.cached_message_hashes), "has_context_info": state.HasField("context_info")}


def chromium_walk(base_url: str, pages: list[str], chromium: str, timeout_ms: float = 120_000) -> list[BrowserView]:
    """Walk ``pages`` in Chromium (first by URL, then by sidebar click) and record each view."""
    from playwright.sync_api import sync_playwright
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from tests.conftest import CHROMIUM_ARGS

    views: list[BrowserView] = []

    def on_websocket(websocket) -> None:
        websocket.on("framesent", lambda payload: views[-1].reruns.append(describe_backmsg(payload))
                     if isinstance(payload, bytes) else None)

        def received(payload) -> None:
            if not isinstance(payload, bytes):
                return
            message = ForwardMsg()
            message.ParseFromString(payload)
            if message.WhichOneof("type") == "navigation":
                views[-1].ran_page_hash = message.navigation.page_script_hash
            views[-1].media_shown.update(url.decode() for url in MEDIA_URL.findall(payload))

        websocket.on("framereceived", received)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("websocket", on_websocket)
        page.on("request", lambda request: views[-1].requested.append(request.url.replace(base_url, ""))
                if views else None)
        for number, name in enumerate(pages):
            views.append(BrowserView(name))
            if number == 0:
                page.goto(f"{base_url}/{name}", wait_until="domcontentloaded", timeout=timeout_ms)
            else:
                page.locator("[data-testid=stSidebarNav] a", has_text=NAV_TITLES[name]).first.click(timeout=timeout_ms)
                page.wait_for_timeout(500)
            page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms)
            page.wait_for_load_state("networkidle", timeout=timeout_ms)
        browser.close()
    return views


async def protocol_walk(base_url: str, pages: list[str]) -> list:
    """The same walk with ``ProtocolSession``; one ``View`` per page."""
    session = ProtocolSession(base_url, timeout=120)
    await session.open()
    try:
        return [await session.visit(name) for name in pages]
    finally:
        await session.close()


def compare_walks(base_url: str, pages: list[str], chromium: str) -> list[str]:
    """Print both walks side by side; return the disagreements (empty when the client matches Chromium)."""
    browser_views = chromium_walk(base_url, pages, chromium)
    client_views = asyncio.run(protocol_walk(base_url, pages))
    problems = []
    print(f"  {'page':<14} {'browser ran':<10} {'client ran':<10} {'media browser/client/fetched':<30} browser rerun_script")
    for seen, made in zip(browser_views, client_views):
        reruns = [rerun for rerun in seen.reruns if rerun["type"] == "rerun_script"]
        fetched = [url for url in seen.requested if url.startswith("/media/")]
        print(f"  {seen.page:<14} {seen.ran_page_hash[:8]:<10} {made.ran_page_hash[:8]:<10} "
              f"{len(seen.media_shown):>3} / {len(made.media_urls):>3} / {len(fetched):>3}{'':<17} {reruns}")
        other = [url for url in seen.requested if not url.startswith(("/media/", "/static/"))]
        if other:
            print(f"  {'':<14} other requests: {sorted(set(other))}")
        if seen.ran_page_hash != made.ran_page_hash:
            problems.append(f"{seen.page}: Chromium ran {seen.ran_page_hash}, the client {made.ran_page_hash}")
        if len(seen.media_shown) != len(made.media_urls):
            problems.append(f"{seen.page}: Chromium was shown {len(seen.media_shown)} media, the client {len(made.media_urls)}")
        if made.error:
            problems.append(f"{seen.page}: the client saw {made.error}")
    return problems
