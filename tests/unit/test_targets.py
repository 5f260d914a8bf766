"""The SSRF guard: every refused class of address, by literal and through a name, and target URLs' shape."""

from ipaddress import ip_address

import pytest
from pydantic import ValidationError

from tests.builders import definition
from trigger_platform.errors import InvalidInput
from trigger_platform.ports import IPAddress
from trigger_platform.targets import TargetGuard, TargetRefused, refusal

PUBLIC = "93.184.215.14"

#: One address of each class the guard refuses, with the reason it gives.
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.251", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "reserved"),  # noqa: S104 - an address to refuse, not one to bind
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::", "reserved"),
    ("192.0.2.1", "private"),  # TEST-NET-1, documentation only
    ("::ffff:127.0.0.1", "loopback (as IPv6)"),
    ("::ffff:169.254.169.254", "link-local (as IPv6)"),
    ("::ffff:10.0.0.1", "private (as IPv6)"),
    ("2002:7f00:1::", "loopback (as IPv6)"),  # 6to4 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local (as IPv6)"),  # NAT64 of 169.254.169.254
]


class NameTable:
    """A Resolver over a fixed table; literals resolve to themselves, unknown names to nothing."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ip_address(host.strip("[]"))]
        except ValueError:
            return [ip_address(a) for a in self.table.get(host, [])]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_each_refused_class_is_named(address: str, reason: str) -> None:
    assert refusal(ip_address(address)) == reason


@pytest.mark.parametrize("address", [PUBLIC, "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.215.14"])
def test_public_unicast_addresses_pass(address: str) -> None:
    assert refusal(ip_address(address)) is None


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_a_refused_address_is_refused_by_literal_and_through_a_name(address: str, reason: str) -> None:
    guard = TargetGuard(NameTable({"hooks.example.com": [address]}))
    literal = f"[{address}]" if ":" in address else address
    for url in (f"https://{literal}/hook", "https://hooks.example.com/hook"):
        with pytest.raises(TargetRefused, match=reason.removesuffix(" (as IPv6)")):
            guard.addresses(url)


def test_one_refused_address_among_public_ones_refuses_the_name() -> None:
    guard = TargetGuard(NameTable({"mixed.example.com": [PUBLIC, "10.0.0.7"]}))
    with pytest.raises(TargetRefused, match="private"):
        guard.addresses("https://mixed.example.com/")


def test_a_public_name_passes_and_plain_http_does_not() -> None:
    guard = TargetGuard(NameTable({"hooks.example.com": [PUBLIC]}))
    assert guard.addresses("https://hooks.example.com/x") == [ip_address(PUBLIC)]
    with pytest.raises(TargetRefused, match="https"):
        guard.addresses("http://hooks.example.com/x")
    with pytest.raises(TargetRefused, match="does not resolve"):
        guard.addresses("https://nowhere.example.com/x")


def test_allowing_private_networks_lifts_the_guard_and_accepts_http() -> None:
    guard = TargetGuard(NameTable({}), allow_private_networks=True)
    assert guard.addresses("http://127.0.0.1:8080/hook") == [ip_address("127.0.0.1")]


def test_the_guard_names_target_url_in_its_422() -> None:
    guard = TargetGuard(NameTable({"inside.example.com": ["10.0.0.1"]}))
    with pytest.raises(InvalidInput) as refused:
        guard.check("https://inside.example.com/")
    assert [e.field for e in refused.value.errors] == ["target.url"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "https://user:pass@example.com/x",
        "https://user@example.com/x",
        "https:///nohost",
        "https://example.com:99999/x",
        "https://exa mple.com/x",
        "https://example.com/" + "a" * 2048,
        "not a url",
    ],
)
def test_target_urls_of_the_wrong_shape_are_refused_by_the_definition(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        definition({"type": "api", "target": {"url": url}})
    assert any(error["loc"][-2:] == ("target", "url") for error in refused.value.errors())


def test_a_target_is_optional_and_kept_out_of_the_stored_document_when_absent() -> None:
    without = definition({"type": "api", "payload": {"key": "value"}})
    assert "target" not in without.model_dump(mode="json")
    scheduled = definition(
        {"type": "scheduled", "schedule": {"at": "2030-01-01T00:00:00Z"}, "target": {"url": "https://example.com/h"}}
    )
    assert scheduled.model_dump(mode="json")["target"] == {"url": "https://example.com/h"}


def test_a_static_resolver_answers_only_what_its_table_lists() -> None:
    from trigger_platform.adapters.resolver import StaticResolver

    resolver = StaticResolver.parse("Receiver.test=127.0.0.1;::1, 127.0.0.1=127.0.0.1")
    assert resolver.resolve("receiver.test", 443) == [ip_address("127.0.0.1"), ip_address("::1")]
    assert resolver.resolve("127.0.0.1", 80) == [ip_address("127.0.0.1")]
    assert resolver.resolve("example.com", 443) == []
    assert resolver.resolve("93.184.215.14", 443) == []  # not even a literal, unless listed
    assert StaticResolver.parse("").resolve("localhost", 80) == []
