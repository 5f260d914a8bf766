"""The token a deployment generates when API_TOKEN is unset (local/__main__.py): kept in its data
directory, and one token however many replicas start together on the same volume."""

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from local.__main__ import _kept_token


def test_replicas_starting_together_agree_on_one_generated_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    starting = threading.Barrier(8)

    def start() -> tuple[str, bool]:
        starting.wait()
        return _kept_token(path)

    with ThreadPoolExecutor(8) as replicas:
        outcomes = list(replicas.map(lambda _: start(), range(8)))
    assert {token for token, _ in outcomes} == {path.read_text().strip()}
    assert [new for _, new in outcomes].count(True) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == ["token"]  # no draft left behind


def test_a_kept_token_is_read_back_and_not_new(tmp_path: Path) -> None:
    path = tmp_path / "token"
    first, new = _kept_token(path)
    assert new and first.startswith("etp_")
    assert _kept_token(path) == (first, False)
