"""Swagger UI at GET /docs, driven in a real headless Chromium: authorize, create a trigger, see 201.

Needs Debian's ``chromium`` (/usr/bin/chromium) and the Python ``playwright`` package; both come from
``scripts/install-browser.sh``. Playwright's own browser download is never used: the test points Playwright at
Debian's binary with ``executable_path``. The page must work offline, so every request it makes has to go to
the local runtime on 127.0.0.1.
"""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Runtime

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 30_000
LOOPBACK = "127.0.0.1"
# Exactly the text typed into Swagger UI's request body editor.
SCHEDULED_BODY = '{"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": false}}'
# Schemes that never leave the page (inlined images, blobs, about:blank).
LOCAL_SCHEMES = {"data", "blob", "about"}


@pytest.fixture(scope="session")
def sync_playwright() -> Callable[[], Any]:
    """Playwright's sync entry point, or a skip that says what to install.

    Session-scoped and listed before ``runtime`` so that a skip does not start the runtime first.
    """
    try:
        from playwright.sync_api import sync_playwright as entry_point
    except ImportError:
        pytest.skip("the Python package 'playwright' is not installed: run scripts/install-browser.sh")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} does not exist (Debian's chromium package): run scripts/install-browser.sh")
    return entry_point


def off_host(urls: list[str]) -> list[str]:
    """The URLs that would leave this machine: any host but the runtime's loopback address."""
    return [url for url in urls if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).hostname != LOOPBACK]


def test_swagger_ui_authorizes_and_creates_a_trigger(
    sync_playwright: Callable[[], Any], runtime: Runtime, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    screenshot = tmp_path / "docs.png"
    requests: list[str] = []

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh, empty user-data dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            context.on("request", lambda request: requests.append(request.url))
            page = context.pages[0] if context.pages else context.new_page()
            try:
                page.goto(f"{runtime.base_url}/docs", wait_until="load")
                expect(page.locator(".swagger-ui .info .title")).to_be_visible()

                # Authorize: the HTTP bearer scheme "bearerAuth" takes the runtime's token.
                page.locator(".scheme-container button.authorize").click()
                modal = page.locator(".dialog-ux .modal-ux")
                expect(modal).to_be_visible()
                scheme = modal.locator(".auth-container").filter(has_text="bearerAuth")
                scheme.locator('input[aria-label="auth-bearer-value"]').fill(runtime.token)
                # Buttons by visible text: their accessible names are aria-labels ("Apply credentials", ...).
                scheme.locator("button.modal-btn").filter(has_text=re.compile(r"^\s*Authorize\s*$")).click()
                expect(
                    scheme.locator("button.modal-btn").filter(has_text=re.compile(r"^\s*Logout\s*$"))
                ).to_be_visible()
                modal.locator("button.modal-btn.btn-done").filter(has_text="Close").first.click()
                expect(modal).to_have_count(0)

                # POST /triggers, found by method and path rather than by tag or operation id.
                operation = page.locator(".opblock.opblock-post").filter(
                    has=page.locator('.opblock-summary-path[data-path="/triggers"]')
                )
                expect(operation).to_have_count(1)
                operation.locator(".opblock-summary").first.click()
                operation.locator("button.try-out__btn").click()
                body = operation.locator("textarea.body-param__text")
                expect(body).to_be_editable()
                body.fill(SCHEDULED_BODY)
                expect(body).to_have_value(SCHEDULED_BODY)

                with page.expect_response(
                    lambda response: (
                        response.request.method == "POST" and urlsplit(response.url).path.rstrip("/") == "/triggers"
                    )
                ) as answered:
                    operation.locator("button.execute").click()
                sent = answered.value
                assert sent.request.header_value("authorization") == f"Bearer {runtime.token}"

                # The live response: the row under "Server response", not the header row ("Code", "Details").
                live = operation.locator(".responses-wrapper .live-responses-table tr.response")
                expect(live).to_have_count(1)
                expect(live.locator("td.response-col_status")).to_have_text(re.compile(r"^\s*201\b"))
                expect(live.locator("td.response-col_description")).to_contain_text('"status": "created"')
            except Exception as error:
                page.screenshot(path=screenshot, full_page=True)
                raise AssertionError(f"Swagger UI check failed ({error}); screenshot: {screenshot}") from error
            page.screenshot(path=screenshot, full_page=True)
        finally:
            context.close()

    assert sent.status == 201, f"POST /triggers answered {sent.status}; screenshot: {screenshot}"
    assert screenshot.stat().st_size > 0, f"empty screenshot: {screenshot}"
    assert requests, f"the page made no requests at all; screenshot: {screenshot}"
    assert not off_host(requests), f"the page asked hosts other than {LOOPBACK}: {off_host(requests)}; {screenshot}"
