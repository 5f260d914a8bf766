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
