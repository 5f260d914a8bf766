"""Pure helpers at the edges: ids, cursors, tokens, request parsing, template reading, the memory cache."""

import re
import sys
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local.template import load_template
from tests.conftest import ROOT
from trigger_platform.adapters.cache import MemoryCache
from trigger_platform.auth import AUTHORIZATION_PATTERN, authenticate, bearer_token, issue_token, token_hash
from trigger_platform.edge.headers import expected_version
from trigger_platform.edge.json_body import BodyTooLarge, MalformedJson, strict_json_loads
from trigger_platform.errors import InvalidInput, Unauthenticated
from trigger_platform.ids import new_id, parse_id
from trigger_platform.pagination import decode_cursor, encode_cursor
from trigger_platform.records import FoundToken


def test_ids_are_uuid7_and_ordered_by_time() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [new_id(start + timedelta(milliseconds=i)) for i in range(100)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)


@given(st.text(max_size=40))
def test_parse_id_never_raises(text: str) -> None:
    parsed = parse_id(text)
    assert parsed is None or isinstance(parsed, UUID)


@given(st.uuids())
def test_cursor_round_trips(value: UUID) -> None:
    assert decode_cursor(encode_cursor(value)) == value


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@given(st.text(alphabet=BASE64URL, max_size=40).filter(lambda text: len(text) != 22))
def test_cursors_of_another_shape_are_invalid_input_naming_the_cursor(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(text)
    assert raised.value.errors[0].field == "cursor"


class FakeTokens:
    def __init__(self) -> None:
        self.tokens: dict[bytes, UUID] = {}
        self.lookups = 0

    def find_token(self, digest: bytes) -> FoundToken | None:
        self.lookups += 1
        tenant = self.tokens.get(digest)
        return FoundToken(digest, tenant, "usage-key") if tenant else None


def test_authenticate_resolves_a_registered_token_only() -> None:
    store, tenant, token = FakeTokens(), uuid4(), issue_token()
    store.tokens[token_hash(token)] = tenant
    assert authenticate(f"Bearer {token}", tokens=store) == (tenant, "usage-key")  # type: ignore[arg-type]
    assert authenticate(f"bearer  {token} ", tokens=store)[0] == tenant  # type: ignore[arg-type]
    with pytest.raises(Unauthenticated):
        authenticate(f"Bearer {issue_token()}", tokens=store)  # type: ignore[arg-type]


@pytest.mark.parametrize("token", ["x" * 40, "etp_short", "etp_" + "a" * 42 + "!", "' OR 1=1 --" * 4, "é" * 43])
def test_tokens_not_of_the_issued_shape_are_refused_without_a_lookup(token: str) -> None:
    store = FakeTokens()
    with pytest.raises(Unauthenticated):
        authenticate(f"Bearer {token}", tokens=store)  # type: ignore[arg-type]
    assert store.lookups == 0


def test_the_deployments_configured_token_is_looked_up_whatever_its_shape() -> None:
    store, tenant, configured = FakeTokens(), uuid4(), "my-own-configured-token-of-32-chars"
    store.tokens[token_hash(configured)] = tenant
    assert authenticate(f"Bearer {configured}", tokens=store, configured=configured)[0] == tenant  # type: ignore[arg-type]


def test_issued_tokens_fit_api_gateways_validation_expression_and_garbage_does_not() -> None:
    pattern = re.compile(AUTHORIZATION_PATTERN)
    assert all(pattern.match(f"Bearer {issue_token()}") for _ in range(200))
    assert not any(pattern.match(h) for h in ("Bearer", "Basic abc", "Bearer " + "x" * 47, "Bearer etp_" + "a" * 44))


@pytest.mark.parametrize("header", [None, "", "Bearer", "Token abc", "Bearer " + "x" * 600])
def test_malformed_authorization_headers_are_unauthenticated(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        bearer_token(header)


def test_issued_tokens_are_long_random_and_hashed_to_32_bytes() -> None:
    tokens = {issue_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) > 40 and len(token_hash(t)) == 32 for t in tokens)


@pytest.mark.parametrize(
    ("header", "version"),
    [(None, None), ("*", None), ('"3"', 3), ('W/"3"', 3), ("3", 3), ('"x"', -1), ('"99999999999"', -1)],
)
def test_if_match_parsing(header: str | None, version: int | None) -> None:
    assert expected_version(header) == version


@pytest.mark.parametrize("text", ['{"a": 1, "a": 2}', '{"a": NaN}', '{"a": Infinity}', "[" * 100_000 + "]" * 100_000])
def test_strict_json_refuses_duplicates_constants_and_deep_nesting(text: str) -> None:
    with pytest.raises((MalformedJson, BodyTooLarge)):
        strict_json_loads(text)


def test_strict_json_refuses_over_64_kib() -> None:
    with pytest.raises(BodyTooLarge):
        strict_json_loads('"' + "x" * 64 * 1024 + '"')


def test_template_routes_all_need_the_authorizer() -> None:
    template = load_template(ROOT / "template.yaml")
    assert template.authorizer is not None
    routes = {(r.method, r.path) for r in template.routes}
    assert {("POST", "/triggers"), ("GET", "/triggers"), ("GET", "/triggers/{trigger_id}")} <= routes
    assert all(r.authorized for r in template.routes if not r.path.startswith(("/docs", "/openapi")))
    assert all(r.function.code_uri.joinpath("app.py").exists() for r in template.routes)


def test_the_memory_cache_keeps_within_its_byte_budget_least_recently_used_out() -> None:
    cache = MemoryCache(max_bytes=1024 * 1024)
    for n in range(20):
        cache.set(f"k{n}", "x" * 100_000, ttl_s=60)
        cache.get("k0")  # kept warm, so it is not the one to go
    assert cache.size_bytes <= 1024 * 1024
    assert cache.get("k0") is not None and cache.get("k1") is None and cache.get("k19") is not None


def test_the_memory_cache_drops_what_has_expired() -> None:
    cache = MemoryCache()
    cache.set("old", "x" * 10_000, ttl_s=0.01)
    time.sleep(1.1)  # the sweep runs at most once a second
    cache.set("new", "y", ttl_s=60)
    assert cache.size_bytes == sys.getsizeof("new") + sys.getsizeof("y")


def test_the_memory_cache_budget_counts_the_memory_an_entry_takes_not_its_characters() -> None:
    cache = MemoryCache(max_bytes=1024 * 1024)
    emoji = "\N{GRINNING FACE}" * 100_000  # 4 bytes a character in memory
    for n in range(5):
        cache.set(f"k{n}", emoji, ttl_s=60)
    assert cache.size_bytes <= 1024 * 1024 and cache.get("k0") is None and cache.get("k4") is not None


def test_metrics_disabled_after_import_collect_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local runtime disables metrics after the wiring imported observability."""
    from trigger_platform.edge import observability

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    observability.count("Probe")
    assert "Probe" not in observability.metrics.provider.metric_set
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    observability.count("Probe")
    assert "Probe" in observability.metrics.provider.metric_set
    observability.metrics.clear_metrics()
