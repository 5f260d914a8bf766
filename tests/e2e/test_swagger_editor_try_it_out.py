""" "Try it out" from Swagger Editor 4 across origins, in Debian's Chromium: the editor (npm
``swagger-editor-dist``) served on one loopback origin, openapi.yaml pasted in as it is, its first
server pointed at the local runtime on another origin (another port), the bearer token authorized.

The browser's CORS checks pass: ``POST /triggers`` shows 201 with the headers a script may read,
errors (a handler's 422, a gateway response's 401) show their status and body, and the preflight
went without a token. A control runtime that allows another origin only is refused by the same
browser, so the checks are known to be on. Install: ``make test`` (npm ci + the browser).
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from local.openapi import SPEC_FILES
from tests.e2e.conftest import SHARED_TOKEN, Runtime, start_runtime, stop_runtime
from tests.e2e.test_docs_browser import CHROMIUM, CHROMIUM_ARGS, off_host
from tests.e2e.test_swagger_editor import TIMEOUT_MS, editor_url, sync_playwright

__all__ = ["editor_url", "sync_playwright"]  # the fixtures, shared with the Swagger Editor check

SCHEDULED_BODY = '{"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": false}}'
#: Valid JSON that no trigger definition fits: the handler answers 422.
INVALID_BODY = '{"type": "scheduled", "schedule": {"interval": 30, "unit": "fortnights", "is_recurring": false}}'


@dataclass
class Exchange:
    """One request the page made to the API, as the browser's network layer saw it (Playwright's
    own events leave preflights out; the DevTools protocol reports them)."""

    method: str
    path: str
    headers: dict[str, str]
    kind: str = ""
    status: int | None = None


@dataclass
class Answer:
    """What Swagger UI shows under "Server response": the status, its message (Swagger UI's own
    words when the browser let it read nothing), the body and the headers a script could read."""

    status: str
    message: str
    body: str
    headers: str


def texts(found: Any) -> str:
    return "\n".join(element.inner_text() for element in found.all())


@dataclass
class Editor:
    page: Any
    api_origin: str
    exchanges: dict[str, Exchange] = field(default_factory=dict)

    def watch_the_network(self) -> None:
        session = self.page.context.new_cdp_session(self.page)
        session.send("Network.enable")
        session.on("Network.requestWillBeSent", self._sent)
        session.on("Network.responseReceived", self._received)

    def _sent(self, event: dict[str, Any]) -> None:
        request = event["request"]
        if request["url"].startswith(self.api_origin):
            headers = {name.lower(): value for name, value in request["headers"].items()}
            self.exchanges[event["requestId"]] = Exchange(request["method"], urlsplit(request["url"]).path, headers)

    def _received(self, event: dict[str, Any]) -> None:
        exchange = self.exchanges.get(event["requestId"])
        if exchange is not None:
            exchange.kind, exchange.status = event["type"], event["response"]["status"]

    def open(self, url: str, document: str) -> None:
        self.page.goto(url, wait_until="load")
        self.page.wait_for_function("() => window.editor && window.validationRuns.structural > 0")
        self.page.evaluate("(text) => document.querySelector('.ace_editor').env.editor.setValue(text, -1)", document)
        self.page.locator('.opblock-summary-path[data-path="/triggers"]').first.wait_for()

    def point_the_first_server_at(self, base_url: str) -> None:
        from playwright.sync_api import expect

        servers = self.page.locator(".servers")
        expect(servers.locator("select")).to_have_value("{apiUrl}")
        servers.locator('input[data-variable="apiUrl"]').fill(base_url)
        expect(servers.locator(".computed-url code")).to_have_text(base_url)

    def authorize(self, token: str) -> None:
        self._authorization(
            "Authorize", lambda scheme: scheme.locator('input[aria-label="auth-bearer-value"]').fill(token)
        )

    def log_out(self) -> None:
        self._authorization("Logout", lambda scheme: None)

    def _authorization(self, button: str, before: Callable[[Any], None]) -> None:
        from playwright.sync_api import expect

        self.page.locator(".scheme-container button.authorize").click()
        modal = self.page.locator(".dialog-ux .modal-ux")
        scheme = modal.locator(".auth-container").filter(has_text="bearerAuth")
        before(scheme)
        # Buttons by visible text: their accessible names are aria-labels ("Apply credentials", ...).
        scheme.locator("button.modal-btn").filter(has_text=re.compile(rf"^\s*{button}\s*$")).click()
        modal.locator("button.modal-btn.btn-done").filter(has_text="Close").first.click()
        expect(modal).to_have_count(0)

    def create_trigger(self, body: str) -> Answer:
        """POST /triggers through "Try it out" → "Execute", and what the page shows of the answer."""
        from playwright.sync_api import expect

        operation = self.page.locator(".opblock.opblock-post").filter(
            has=self.page.locator('.opblock-summary-path[data-path="/triggers"]')
        )
        if not operation.locator("textarea.body-param__text").count():
            operation.locator(".opblock-summary").first.click()
            operation.locator("button.try-out__btn").click()
        editor = operation.locator("textarea.body-param__text")
        editor.fill(body)
        answered = len(self.page.locator(".live-responses-table tr.response").all())
        operation.locator("button.execute").click()
        live = operation.locator(".responses-wrapper .live-responses-table tr.response")
        expect(live).to_have_count(max(1, answered))
        expect(operation.locator(".responses-wrapper .loading-container")).to_have_count(0)
        details = live.locator("td.response-col_description")
        return Answer(
            status=live.locator("td.response-col_status").inner_text().strip(),
            message=texts(details.locator(".renderedMarkdown")),
            body=texts(details.locator(".highlight-code pre")),
            headers=texts(details.locator("div").filter(has=self.page.locator("h5", has_text="Response headers"))),
        )

    def preflights(self) -> list[Exchange]:
        return [exchange for exchange in self.exchanges.values() if exchange.method == "OPTIONS"]

    def sent(self, method: str) -> list[Exchange]:
        return [exchange for exchange in self.exchanges.values() if exchange.method == method]


@pytest.fixture(scope="module")
def browser(sync_playwright: Callable[[], Any]) -> Iterator[Any]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def editor_on(browser: Any, editor_url: str, tmp_path: Path) -> Iterator[Callable[[Runtime], Editor]]:
    """A fresh editor page with openapi.yaml, its first server pointed at a runtime and that
    runtime's token authorized; a screenshot of each page at the end, and every request it made
    kept to loopback."""
    pages: list[Any] = []
    requests: list[str] = []

    def open_editor(runtime: Runtime) -> Editor:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.on("request", lambda request: requests.append(request.url))
        pages.append(page)
        editor = Editor(page, runtime.base_url)
        editor.watch_the_network()
        editor.open(editor_url, SPEC_FILES[0].read_text())
        assert urlsplit(editor_url).port != runtime.port  # two origins: CORS applies
        editor.point_the_first_server_at(runtime.base_url)
        editor.authorize(runtime.token)
        return editor

    yield open_editor
    for number, page in enumerate(pages):
        page.screenshot(path=tmp_path / f"editor-{number}.png", full_page=True)
        page.close()
    assert not off_host(requests), f"the editor asked hosts other than loopback: {off_host(requests)}"


def test_try_it_out_creates_a_trigger_from_another_origin_and_reads_its_headers(
    editor_on: Callable[[Runtime], Editor], runtime: Runtime
) -> None:
    editor = editor_on(runtime)
    answer = editor.create_trigger(SCHEDULED_BODY)
    assert answer.status == "201", answer
    assert '"status": "created"' in answer.body
    # Swagger UI lists only the headers the browser lets a script read: exposed, or safelisted.
    assert re.search(r"location: http://127\.0\.0\.1:\d+/triggers/", answer.headers), answer.headers
    assert 'etag: "1"' in answer.headers, answer.headers
    (posted,) = editor.sent("POST")
    assert posted.status == 201 and posted.headers["authorization"] == f"Bearer {runtime.token}"


def test_the_preflight_goes_without_a_token_and_is_answered_without_the_authorizer(
    editor_on: Callable[[Runtime], Editor], runtime: Runtime
) -> None:
    editor = editor_on(runtime)
    assert editor.create_trigger(SCHEDULED_BODY).status == "201"
    preflights = editor.preflights()
    assert preflights, f"no preflight was seen: {list(editor.exchanges.values())}"
    for preflight in preflights:
        assert preflight.kind == "Preflight" and preflight.status == 200, preflight
        assert "authorization" not in preflight.headers, preflight.headers
        assert preflight.headers["access-control-request-method"] == "POST"
        assert "authorization" in preflight.headers["access-control-request-headers"].split(",")


def test_error_answers_are_readable_from_another_origin(
    editor_on: Callable[[Runtime], Editor], runtime: Runtime
) -> None:
    editor = editor_on(runtime)
    invalid = editor.create_trigger(INVALID_BODY)  # the handler's problem+json
    assert invalid.status == "422", invalid
    assert "urn:etp:problem:invalid-input" in invalid.body and "schedule.unit" in invalid.body
    editor.log_out()
    unauthenticated = editor.create_trigger(SCHEDULED_BODY)  # the template's UNAUTHORIZED gateway response
    assert unauthenticated.status == "401", unauthenticated
    assert "urn:etp:problem:unauthenticated" in unauthenticated.body
    assert "www-authenticate: Bearer" in unauthenticated.headers
    assert [exchange.status for exchange in editor.sent("POST")] == [422, 401]


@pytest.fixture
def elsewhere_only(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime whose operator allows one other origin (CORS_ALLOW_ORIGIN), not the editor's."""
    env = {
        "DATABASE_URL": database_url,
        "API_TOKEN": SHARED_TOKEN,
        "LOCAL_DATA_DIR": str(tmp_path),
        "CORS_ALLOW_ORIGIN": "https://editor.swagger.io",
        "LOCAL_DELIVERY_WORKERS": "0",
        "WEB_CONCURRENCY": "1",
    }
    started = start_runtime(env, tmp_path / "runtime.log")
    yield started
    stop_runtime(started)


def test_the_browser_refuses_an_api_that_allows_another_origin_only(
    editor_on: Callable[[Runtime], Editor], elsewhere_only: Runtime
) -> None:
    editor = editor_on(elsewhere_only)
    refused = editor.create_trigger(SCHEDULED_BODY)
    assert refused.status != "201", refused
    assert "Failed to fetch" in refused.message and "CORS" in refused.message, refused
    assert [preflight.status for preflight in editor.preflights()] == [200]
    # The browser stops at the preflight: the request it meant to send never reaches the API.
    assert [exchange.status for exchange in editor.sent("POST")] == [None]
    assert "POST /triggers" not in elsewhere_only.log_path.read_text()
