"""Issue "The user's side": the web gallery, driven in Debian's Chromium by Playwright.

ingest, thumbnailer and status run as processes (the `pipeline` fixture); the gallery
is served by status and uploads to ingest, another origin (CORS). The browser is the
system's Chromium (`make setup` installs it); Playwright never downloads one here.
Screenshots land in test-output/screenshots/.
"""

from __future__ import annotations

import re
import shutil
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    FilePayload,
    Page,
    Response,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.support.client import CORPUS, upload, wait_job
from tests.support.stack import OUTPUT, Stack

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = OUTPUT / "screenshots"
EVIL = "<script>alert(1)</script>"
# No slash, so it survives ingest's basename cleaning: markup a careless innerHTML would run.
EVIL_FILENAME = "<img src=x onerror=alert(2)>.jpg"
PHONE = ViewportSize(width=390, height=844)
PREVIEW_SHOWN = "() => { const img = document.getElementById('preview'); return img && img.complete && img.naturalWidth > 0; }"
THUMBNAILS_SHOWN = (
    "() => [...document.querySelectorAll('.tile img')].every(i => i.complete && i.naturalWidth > 0)"
)
# For what waits on the pipeline (thumbnails); page actions wait this long too.
WAIT_MS = 30_000
# Until publishers run, destinations stay pending; any of these is a rendered state.
DELIVERY_STATES = {"pending", "retrying", "published", "failed", "skipped"}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        # Never a silent skip: say what to install.
        pytest.fail(
            "Chromium is not installed: run `make setup` as root, or `apt-get install chromium`",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@dataclass
class Watched:
    """What a page did besides what the test looked at: dialogs, script errors, CSP reports, documents."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    documents: list[Response] = field(default_factory=list)

    async def assert_clean(self, gallery: str) -> None:
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"
        assert self.errors == [], f"script errors or CSP violations: {self.errors}"
        pages = [r for r in self.documents if r.url.startswith(gallery)]
        assert pages, "no gallery page was loaded"
        for response in pages:
            headers = await response.all_headers()
            policy = headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, (
                response.url
            )
            assert headers.get("x-content-type-options") == "nosniff", response.url
            assert "referrer-policy" in headers, response.url

    async def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=SCREENSHOTS / f"gallery-{name}.png", full_page=True)


@pytest.fixture
async def watched(browser: Browser) -> AsyncIterator[Watched]:
    """A fresh phone-width page that records dialogs (none may open), errors and documents."""
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    seen = Watched(page)

    async def on_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(dialog.message)
        await dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            seen.errors.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on(
        "response",
        lambda r: seen.documents.append(r) if r.request.resource_type == "document" else None,
    )
    try:
        yield seen
    finally:
        await context.close()


@contextmanager
def frozen(stack: Stack, name: str) -> Iterator[None]:
    """SIGSTOP a service for the block: its messages wait, and it resumes at once after."""
    process = stack.services[name].process
    assert process is not None and process.poll() is None, f"{name} is not running"
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


async def assert_fits_a_phone(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px screen"


def camera(name: str) -> Path:
    return CORPUS / "camera" / name


async def test_upload_through_the_form_then_watch_the_job_complete_live(
    pipeline: Stack, watched: Watched
) -> None:
    page, gallery = watched.page, pipeline.url("status")
    # With the thumbnailer frozen the job cannot finish, so the job page surely opens
    # before the end and must learn of it live.
    with frozen(pipeline, "thumbnailer"):
        await page.goto(f"{gallery}/upload")
        await page.fill("input[name=title]", EVIL)
        await page.fill("input[name=tags]", f"browser-upload, {EVIL}")
        await page.fill("input[name=album]", "Cameras")
        nikon = FilePayload(
            name=EVIL_FILENAME,
            mimeType="image/jpeg",
            buffer=camera("Nikon_D70.jpg").read_bytes(),
        )
        await page.set_input_files("#files", [camera("Canon_40D.jpg")])
        await page.set_input_files("#files", [nikon])  # a second pick adds to the first
        await expect(page.locator("#chosen li")).to_have_count(2)
        await expect(page.locator("#chosen")).to_contain_text(EVIL_FILENAME)
        await assert_fits_a_phone(page)
        await watched.screenshot("upload")
        await page.click("button[type=submit]")

        await page.wait_for_url(re.compile(r"/jobs/[^/]+$"))
        job_url = page.url
        await page.evaluate("window.photobusMarker = 'still here'")
        navigations: list[str] = []
        page.on(
            "framenavigated",
            lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
        )
        status = page.locator("#job-status")
        await expect(status).not_to_have_text("completed")
        await expect(page.locator("#job-items > li")).to_have_count(2)
        await expect(page.locator("#job-live")).to_have_text("live")
        await watched.screenshot("job-processing")

    await expect(status).to_have_text("completed", timeout=WAIT_MS)
    assert await page.evaluate("window.photobusMarker") == "still here"
    assert navigations == [] and page.url == job_url
    items = page.locator("#job-items > li")
    await expect(items.locator("img")).to_have_count(2)  # thumbnails, drawn by the script
    await expect(items.filter(has_text=EVIL_FILENAME)).to_have_count(1)  # as text
    await expect(page.locator("#job-progress")).to_have_text("2 of 2 items done")
    await expect(page.locator("#job-live")).to_have_text("")
    await watched.screenshot("job-completed")

    await items.filter(has_text="Canon_40D.jpg").locator(".item-name a").click()
    await page.wait_for_url(re.compile(r"/photos/[0-9a-f]{64}$"))
    await page.wait_for_function(PREVIEW_SHOWN)
    await expect(page.locator("h1")).to_have_text(EVIL)
    await expect(page.locator(".meta")).to_contain_text("Canon EOS 40D")
    await expect(page.locator(".tags a", has_text=EVIL)).to_be_visible()
    await expect(page.locator(".destinations .badge")).to_have_count(3)
    for destination in ("imgur", "flickr", "gphotos"):
        badge = page.locator(f".destinations .badge[data-destination={destination}]")
        state = await badge.get_attribute("data-state")
        assert state in DELIVERY_STATES, (destination, state)
    await watched.screenshot("photo")

    await page.click("form:has(input[value=flickr]) button")
    await expect(page.locator(".notice")).to_have_text("Asked flickr to publish this photo again.")
    await assert_fits_a_phone(page)
    await watched.assert_clean(gallery)


async def test_the_grid_filters_by_tag_and_shows_titles_as_text(
    pipeline: Stack, watched: Watched, http: aiohttp.ClientSession
) -> None:
    page, gallery = watched.page, pipeline.url("status")
    files = [(name, camera(name).read_bytes()) for name in ("Pentax_K10D.jpg", "Kodak_CX7530.jpg")]
    tagged = await upload(http, pipeline.url("ingest"), files[:1], title=EVIL, tags="grid-only")
    other = await upload(http, pipeline.url("ingest"), files[1:], title="Kodak", tags="elsewhere")
    for reply in (tagged, other):
        await wait_job(http, gallery, reply["job_id"], timeout=30)

    await page.goto(f"{gallery}/")
    await expect(page.locator(".tile").first).to_be_visible()
    everything = await page.locator(".tile").count()
    await page.fill("input[name=tag]", "grid-only")
    await page.click(".filters button[type=submit]")

    await page.wait_for_url(re.compile(r"\?tag=grid-only"))
    tiles = page.locator(".tile")
    await expect(tiles).to_have_count(1)
    assert everything >= 2
    await expect(tiles.locator(".caption")).to_have_text(EVIL)
    await expect(tiles.locator("[data-destination]")).to_have_count(3)
    await page.wait_for_function(THUMBNAILS_SHOWN)
    await assert_fits_a_phone(page)
    await watched.screenshot("grid-filtered")

    await page.click(".filters a.clear")
    await expect(page.locator(".tile")).to_have_count(everything)
    await watched.assert_clean(gallery)
