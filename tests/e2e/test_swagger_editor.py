"""openapi.yaml pasted into Swagger Editor 4 (npm ``swagger-editor-dist``, pinned in tools/contract),
served on loopback and run in Debian's Chromium: its validators find no error and no warning.

The editor shows errors in the pane above the preview and warnings as marks in the editor's gutter;
the test reads both, and the editor's own list of what its validators said. A control pastes
Powertools' OpenAPI 3.1 document, which Swagger Editor 4 cannot read, and must see errors, so a
silent editor can never pass for a clean document. Install: ``make test`` (npm ci + the browser).
"""

import functools
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.openapi import SPEC_FILES, powertools_document, render_yaml
from tests.conftest import ROOT
from tests.e2e.test_docs_browser import CHROMIUM, CHROMIUM_ARGS, LOOPBACK, off_host, sync_playwright

__all__ = ["sync_playwright"]  # the fixture, shared with the Swagger UI check

EDITOR_DIST = ROOT / "tools" / "contract" / "node_modules" / "swagger-editor-dist"
EDITOR_PAGE = ROOT / "tools" / "contract" / "swagger-editor.html"
TIMEOUT_MS = 30_000
#: After both validators have answered, how long the findings must stay the same to count as final.
SETTLE_S = 1.5

FINDINGS = """() => ({
    reported: window.editor.errSelectors.allErrors().toJS().map(
        (error) => `${error.level} (${error.source}) line ${error.line}: ${error.message}`),
    gutter: document.querySelector('.ace_editor').env.editor.getSession().getAnnotations().map(
        (mark) => `${mark.type} line ${mark.row + 1}: ${mark.text}`),
    pane: [...document.querySelectorAll('.errors-wrapper .error-wrapper')].map((item) => item.innerText),
})"""


class EditorFiles(http.server.SimpleHTTPRequestHandler):
    """swagger-editor-dist's files, and our page that starts the editor."""

    def translate_path(self, path: str) -> str:
        if path.split("?", maxsplit=1)[0] == f"/{EDITOR_PAGE.name}":
            return str(EDITOR_PAGE)
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reports what matters."""


@pytest.fixture(scope="module")
def editor_url() -> Iterator[str]:
    if not (EDITOR_DIST / "swagger-editor-bundle.js").exists():
        pytest.skip(f"{EDITOR_DIST} is missing: run `make test` (it runs npm ci in tools/contract)")
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), functools.partial(EditorFiles, directory=EDITOR_DIST))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}/{EDITOR_PAGE.name}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def findings_for(
    sync_playwright: Callable[[], Any], editor_url: str
) -> Iterator[Callable[[str], dict[str, list[str]]]]:
    """Paste a document into a fresh editor page, as a user would, and return what the editor says."""
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)

        def findings(document: str) -> dict[str, list[str]]:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.on("request", lambda request: requests.append(request.url))
            try:
                page.goto(editor_url, wait_until="load")
                # The editor validates its own sample document first; count from there.
                page.wait_for_function("() => window.editor && window.validationRuns.structural > 0")
                before = page.evaluate("() => ({...window.validationRuns})")
                page.evaluate("(text) => document.querySelector('.ace_editor').env.editor.setValue(text, -1)", document)
                page.wait_for_function(
                    "(before) => window.validationRuns.structural > before.structural"
                    " && window.validationRuns.semantic > before.semantic",
                    arg=before,
                )
                seen = page.evaluate(FINDINGS)
                deadline = time.monotonic() + TIMEOUT_MS / 1000
                while time.monotonic() < deadline:
                    time.sleep(SETTLE_S)
                    now = page.evaluate(FINDINGS)
                    if now == seen:
                        return dict(now)
                    seen = now
                raise AssertionError(f"the editor's findings did not settle: {seen}")
            finally:
                page.close()

        yield findings
        browser.close()
    assert not off_host(requests), f"the editor asked hosts other than {LOOPBACK}: {off_host(requests)}"


def test_swagger_editor_4_finds_no_error_and_no_warning_in_openapi_yaml(
    findings_for: Callable[[str], dict[str, list[str]]],
) -> None:
    said = findings_for(SPEC_FILES[0].read_text())
    assert said == {"reported": [], "gutter": [], "pane": []}, "\n".join(
        f"{where}: {finding}" for where, found in said.items() for finding in found
    )


def test_swagger_editor_4_does_show_the_errors_of_a_document_it_cannot_read(
    findings_for: Callable[[str], dict[str, list[str]]],
) -> None:
    said = findings_for(render_yaml(powertools_document()))
    assert said["pane"] and said["reported"], said
    assert any("3\\.0" in finding for finding in said["pane"]), said["pane"]
