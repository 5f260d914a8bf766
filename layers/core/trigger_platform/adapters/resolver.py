"""The Resolver port over the system's resolver (getaddrinfo): every address a host resolves to."""

import socket
from ipaddress import ip_address

from trigger_platform.ports import IPAddress


class SystemResolver:
    def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return []
        found: list[IPAddress] = []
        for *_, sockaddr in infos:
            address = ip_address(str(sockaddr[0]).split("%", 1)[0])  # no IPv6 zone index
            if address not in found:
                found.append(address)
        return found


class StaticResolver:
    """The Resolver port over a fixed table (``DELIVERY_RESOLVER_TABLE``): only the names and literal
    addresses it lists resolve, so a runtime set up with it never asks DNS nor reaches an address it
    was not given (test runs whose inputs are generated, like the contract fuzz)."""

    def __init__(self, table: dict[str, list[IPAddress]]) -> None:
        self._table = {name.lower(): addresses for name, addresses in table.items()}

    @classmethod
    def parse(cls, text: str) -> "StaticResolver":
        """``name=address[;address],…``, e.g. ``receiver.test=127.0.0.1,127.0.0.1=127.0.0.1``; ``none``
        for a table where nothing resolves (an empty variable means no table at all: DNS)."""
        table: dict[str, list[IPAddress]] = {}
        if text.strip().lower() == "none":
            return cls(table)
        for entry in filter(None, (part.strip() for part in text.split(","))):
            name, _, addresses = entry.partition("=")
            table[name.strip()] = [ip_address(a.strip()) for a in addresses.split(";") if a.strip()]
        return cls(table)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        return list(self._table.get(host.lower().strip("[]"), []))
