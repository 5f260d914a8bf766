"""An embedded PostgreSQL for when no DATABASE_URL is given: the server binaries ship in the
``pgserver`` wheel; the data lives in a folder under the project."""

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("local")

#: pgserver's own choice when started as root (PostgreSQL refuses to run as root).
UNPRIVILEGED_USER = "pgserver"


def start_embedded_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or attach to) the server in ``data_dir``; returns its URL and the server handle,
    which stops the server when the last process using it exits."""
    import pgserver  # heavy and only needed here

    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        log.info(
            "running as root: the embedded PostgreSQL runs as the unprivileged user %r, "
            "since PostgreSQL refuses to run as root",
            UNPRIVILEGED_USER,
        )
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    return str(server.get_uri()), server
