"""How every process of the local runtime logs: one line per record on stderr, the runtime's own
loggers at INFO, everyone else's (and the handlers' Powertools logs) at WARNING."""

import logging
import os
import sys
import warnings


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("local").setLevel(logging.INFO)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
