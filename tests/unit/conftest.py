"""Unit tests are pure: any network connection attempt fails loudly, libpq's included."""

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest


class NetworkInUnitTest(RuntimeError):
    pass


def refuse(*args: Any, **kwargs: Any) -> None:
    raise NetworkInUnitTest("unit tests must not open network connections")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Python's sockets cover redis-py and boto3; psycopg2 connects in C (libpq), so its entry
    # point is refused too.
    import socket

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(psycopg2, "connect", refuse)
    yield
