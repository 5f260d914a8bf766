"""The layer `sam build` makes (layers/core/Makefile, run as SAM runs it): bytecode only from
Lambda's own Python version, hash-based so that it does not depend on the zip keeping the
sources' times. Builds from PyPI, a few seconds each."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

#: A .pyc's flags word: bit 0 says it is hash-based, bit 1 that the source is checked against it.
UNCHECKED_HASH = 0b01


def build_layer(artifacts: Path, interpreter: str) -> Path:
    command = ["make", "-s", "build-CoreLayer", f"ARTIFACTS_DIR={artifacts}", f"LAMBDA_PYTHON_BIN={interpreter}"]
    # make from PATH, as sam build runs it, with our own arguments
    subprocess.run(command, cwd=ROOT / "layers/core", check=True, capture_output=True)  # noqa: S603
    return artifacts / "python"


def test_the_layer_carries_unchecked_hash_bytecode_of_the_interpreter_named_as_lambdas(tmp_path: Path) -> None:
    # This interpreter stands in for python3.14, which this machine does not have.
    layer = build_layer(tmp_path, sys.executable)
    tag = sys.implementation.cache_tag
    for module in ("trigger_platform/firing.py", "pydantic/main.py", "psycopg2/extras.py"):
        source = layer / module
        compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        assert int.from_bytes(compiled.read_bytes()[4:8], "little") == UNCHECKED_HASH, module


def test_without_that_interpreter_the_layer_has_no_bytecode_at_all(tmp_path: Path) -> None:
    layer = build_layer(tmp_path, "")
    assert not list(layer.rglob("*.pyc"))
    assert (layer / "trigger_platform/firing.py").is_file()
