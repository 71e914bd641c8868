"""Driving Debian's headless Chromium with Playwright (never `playwright install`), network off.

Launch flags after .library/env/machines/python.md: without the background-networking flags Chromium
tries to reach Google's hosts at every start, which this machine's closed network refuses.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class PageLog:
    """What a page did besides rendering: console errors, uncaught errors, requests, dialogs."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium browser (Playwright `Browser`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


def open_site_page(b: Any, path: Path, *, viewport: tuple[int, int] = (1280, 900)) -> tuple[Any, PageLog, float]:
    """Open a site page from file:// in a new offline context; wait until the map is built.

    Any request not to a local file is aborted and recorded. Returns the page, its log and the time in
    seconds from navigation start to the map being ready (``performance.now()`` in the page).
    """
    context = b.new_context(viewport={"width": viewport[0], "height": viewport[1]}, offline=True)
    log = PageLog()
    page = context.new_page()

    def on_route(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            log.requests.append(route.request.url)
            route.abort()

    page.route("**/*", on_route)
    page.on("console", lambda m: log.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: log.errors.append(f"pageerror: {e}"))

    def on_dialog(dialog: Any) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    start = time.perf_counter()
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_selector("html[data-fl-ready='1']", timeout=30_000)
    wall = time.perf_counter() - start
    ready = page.evaluate("FlaechenSite.site.readyAt")
    return page, log, (ready / 1000.0 if ready is not None else wall)


def drawn(page: Any, layer: str) -> int:
    """Number of features of a layer drawn on the map (on the map, projected, not clipped away)."""
    return int(page.evaluate("(layer) => FlaechenSite.site.drawn(layer)", layer))


def painted(page: Any) -> int:
    """A checksum of the pixels of the map's feature canvas: changes when what is drawn changes."""
    return int(
        page.evaluate(
            """() => {
                const canvas = document.querySelector('.leaflet-fl-features-pane canvas');
                if (!canvas) { return 0; }
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let sum = 0;
                for (let i = 0; i < data.length; i += 4) {
                    sum = (sum + data[i] * 3 + data[i + 1] * 5 + data[i + 2] * 7 + data[i + 3] * 11) % 2147483647;
                }
                return sum;
            }"""
        )
    )


def page_weight(page_path: Path) -> int:
    """Bytes a page loads: the HTML and every local script, style sheet and image it links."""
    import re

    text = page_path.read_text(encoding="utf-8")
    total = len(text.encode("utf-8"))
    for url in set(re.findall(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", text)):
        target = page_path.parent / url
        if target.is_file():
            total += target.stat().st_size
            if target.suffix == ".css":
                for ref in set(re.findall(r"url\(['\"]?([^'\")#]+)", target.read_text(encoding="utf-8"))):
                    if (target.parent / ref).is_file():
                        total += (target.parent / ref).stat().st_size
    return total
