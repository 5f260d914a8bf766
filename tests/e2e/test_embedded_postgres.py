"""`make dev` without DATABASE_URL: the runtime brings its own PostgreSQL and keeps its dev token."""

import os
import shutil
import tempfile
from pathlib import Path

from tests.e2e.conftest import start_runtime, stop_runtime


def test_runtime_without_database_url_uses_embedded_postgres_and_keeps_its_token(tmp_path: Path) -> None:
    # The embedded server may run as an unprivileged user, who must be able to reach the folder.
    data_dir = Path(tempfile.mkdtemp(prefix="etp-embedded-"))
    data_dir.chmod(0o755)
    env = {"DATABASE_URL": "", "API_TOKEN": "", "LOCAL_DATA_DIR": str(data_dir)}
    saved = {name: os.environ.pop(name, None) for name in ("DATABASE_URL", "API_TOKEN")}
    try:
        runtime = start_runtime(env, tmp_path / "first.log")
        try:
            created = runtime.request(
                "POST", "/triggers", {"type": "api", "payload": {"key": "value"}}, token=runtime.token
            )
            assert created.status == 201
        finally:
            stop_runtime(runtime)
        again = start_runtime(env, tmp_path / "second.log")
        try:
            assert again.token == runtime.token
            listed = again.request("GET", "/triggers", token=again.token)
            assert [t["id"] for t in listed.json] == [created.json["id"]]
        finally:
            stop_runtime(again)
    finally:
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
        shutil.rmtree(data_dir, ignore_errors=True)
