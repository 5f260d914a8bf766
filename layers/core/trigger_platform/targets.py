"""Where a trigger may deliver: the SSRF guard over a target URL's resolved addresses.

A target's host is resolved and every address it resolves to is judged; one refused address
refuses the target (a name that points anywhere inside is not a public endpoint). The same rule
runs when a trigger is created or edited (422 naming ``target.url``) and again before each send,
which then connects to the address it checked, so a name re-pointed after the check (DNS
rebinding) is never followed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

from trigger_platform.errors import FieldError, InvalidInput
from trigger_platform.ports import IPAddress, Resolver

TARGET_FIELD = "target.url"
#: RFC 6598 shared address space, which ``ipaddress`` counts as neither private nor global.
_CARRIER_GRADE_NAT = IPv4Network("100.64.0.0/10")
_NAT64 = IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo client, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


#: Each refused class of address, in the order they are told apart (169.254.0.0/16 is link-local
#: before it is private; 100.64.0.0/10 is neither private nor global to ``ipaddress``).
_REFUSED: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("loopback", lambda a: a.is_loopback),
    ("link-local", lambda a: a.is_link_local),
    ("carrier-grade NAT", lambda a: isinstance(a, IPv4Address) and a in _CARRIER_GRADE_NAT),
    ("multicast", lambda a: a.is_multicast),
    ("reserved", lambda a: a.is_unspecified or a.is_reserved),
    ("private", lambda a: a.is_private),
    ("not publicly routable", lambda a: not a.is_global),
)


def refusal(address: IPAddress) -> str | None:
    """Why a delivery may not connect to ``address``, or None for a public unicast address."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal(embedded)
            return f"{reason} (as IPv6)" if reason else None
    return next((reason for reason, applies in _REFUSED if applies(address)), None)


class TargetRefused(Exception):
    """A target the guard will not deliver to; the message says why (never which address)."""


@dataclass(frozen=True)
class TargetGuard:
    """The SSRF rule with its resolver; ``allow_private_networks`` lifts it (development and tests)."""

    resolver: Resolver
    allow_private_networks: bool = False

    def addresses(self, url: str) -> list[IPAddress]:
        """The addresses a delivery to ``url`` may connect to, first preferred; TargetRefused otherwise."""
        parts = urlsplit(url)
        if parts.scheme != "https" and not self.allow_private_networks:
            raise TargetRefused("must be an https URL")
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = self.resolver.resolve(host, port)
        if not found:
            raise TargetRefused("its host does not resolve")
        if not self.allow_private_networks:
            for address in found:
                reason = refusal(address)
                if reason:
                    raise TargetRefused(f"must be a public address, not {reason}")
        return found

    def check(self, url: str) -> None:
        """InvalidInput naming ``target.url`` when a trigger may not deliver to ``url``."""
        try:
            self.addresses(url)
        except TargetRefused as refused:
            raise InvalidInput(
                "The trigger's target is not allowed.", errors=[FieldError(TARGET_FIELD, str(refused))]
            ) from None
