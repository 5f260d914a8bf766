"""One scheduler per database: the process holding the advisory lock runs the loops; the lock goes
with its session, so another process takes over when the leader stops or its connection drops."""

import time
from urllib.parse import urlsplit, urlunsplit

from local.background import Leadership
from tests.faults import TcpProxy

#: Not the runtime's key: an e2e runtime on the same database may hold that one meanwhile.
KEY = 0x7E57_0000_0000_0001


def acquired_within(leadership: Leadership, seconds: float = 5) -> bool:
    """As a waiting process does: try again until the old session is gone (its end is asynchronous)."""
    deadline = time.monotonic() + seconds
    while not leadership.acquire():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_only_one_process_leads_and_another_takes_over_when_it_lets_go(database_url: str) -> None:
    first, second = Leadership(database_url, KEY), Leadership(database_url, KEY)
    try:
        assert first.acquire()
        assert first.acquire()  # asking again keeps it
        assert not second.acquire()
        assert first.holds()
        first.release()
        assert acquired_within(second)
        assert not first.acquire()
    finally:
        first.release()
        second.release()


def test_a_leader_whose_connection_drops_loses_the_lead_to_the_next(database_url: str) -> None:
    parts = urlsplit(database_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        proxied = urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}"))
        leader, follower = Leadership(proxied, KEY), Leadership(database_url, KEY)
        try:
            assert leader.acquire()
            assert not follower.acquire()
            proxy.down()
            assert not leader.holds()
            assert acquired_within(follower)  # the server ended the dropped session, and its lock with it
        finally:
            leader.release()
            follower.release()
