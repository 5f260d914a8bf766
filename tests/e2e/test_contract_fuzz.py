"""The whole API fuzzed against openapi.yaml by schemathesis, over HTTP, with a real token.

Bounded here (FUZZ_EXAMPLES examples per operation, default 5); `make fuzz` runs it longer."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.conftest import Runtime


def test_schemathesis_finds_no_failures(runtime: Runtime, tmp_path: Path) -> None:
    examples = os.environ.get("FUZZ_EXAMPLES", "5")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(ROOT / "openapi.yaml"),
        "--url",
        runtime.base_url,
        "--header",
        f"Authorization: Bearer {runtime.token}",
        # All checks but the two schemathesis.toml turns off (and explains): on the command line too,
        # since command-line choices override the file.
        "--exclude-checks",
        "positive_data_acceptance,unsupported_method",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        examples,
        "--continue-on-failure",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3000, check=False)  # noqa: S603
    summary = result.stdout[-4000:]
    assert result.returncode == 0, summary
    assert "generated" in summary, summary
