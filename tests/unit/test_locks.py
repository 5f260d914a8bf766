"""Every install path installs from a lock, hash-checked; the locks agree with each other and with
what they are for (the layer with Lambda's Python, the image without the development tools)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.unit.test_template import resources

LOCKS = {
    "layer": ROOT / "layers/core/requirements.lock",
    "image": ROOT / "local/requirements.lock",
    "dev": ROOT / "requirements-dev.lock",
    "sam": ROOT / "requirements-sam.lock",
    "uv": ROOT / "requirements-uv.lock",
}
INSTALL = re.compile(r"\bpip3?\b(?!-)(?:\s+--?\S+(?:\s+[^-\s]\S*)?)*\s+(install|sync|download)\b")
REQUIREMENTS_FILE = re.compile(r"(?:^|\s)(?:-r|-c|--requirement|--constraint)\s+(\S+)")


def logical_lines(text: str) -> list[str]:
    """Shell-ish lines with their backslash continuations joined."""
    return [line.strip() for line in re.sub(r"\\\n", " ", text).splitlines() if line.strip()]


def make_dry_run(*arguments: str) -> list[str]:
    """What make would run, variables expanded, whether or not it is up to date."""
    command = [shutil.which("make") or "make", "-n", "-B", *arguments]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return logical_lines(result.stdout)


def install_commands() -> list[tuple[Path, str]]:
    """(the folder its paths are relative to, command) for every command that installs Python
    packages, in every install path."""
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert phony, "the Makefile lists its targets in .PHONY"
    found = [(ROOT, line) for line in make_dry_run(*phony.group(1).split())]
    found += [(ROOT / "layers/core", line) for line in make_dry_run("-C", "layers/core", "ARTIFACTS_DIR=/x")]
    # The image builds from the repository root as its context, and copies the lock to the same path.
    found += [(ROOT, line) for line in logical_lines((ROOT / "Dockerfile").read_text()) if line.startswith("RUN")]
    for script in [*(ROOT / "scripts").iterdir(), ROOT / ".ci" / "run"]:
        found += [(ROOT, line) for line in logical_lines(script.read_text())]
    return [(where, line) for where, line in found if not line.startswith("#") and INSTALL.search(line)]


def requirements_files(command: str) -> list[str]:
    """The files a command installs from: -r/-c arguments, and the file `uv pip sync` makes the venv."""
    files = REQUIREMENTS_FILE.findall(command)
    if INSTALL.search(command).group(1) == "sync":  # type: ignore[union-attr]
        files += [word for word in command.split() if word.endswith(".lock")]
    return files


def requirements(lock: Path) -> dict[str, str]:
    """name → the lock's entry for it (the pin, its marker and its hashes)."""
    entries = re.split(r"\n(?=[A-Za-z0-9])", re.sub(r"^(#.*\n)+", "", lock.read_text()))
    return {re.split(r"[=<>!~ ;\[]", entry, maxsplit=1)[0].lower(): entry for entry in entries if entry.strip()}


def pins(lock: Path) -> dict[str, str]:
    return {name: entry.split("==", 1)[1].split()[0] for name, entry in requirements(lock).items()}


def test_every_install_path_installs_from_a_hashed_lock() -> None:
    commands = install_commands()
    installed = {file for folder, command in commands for file in requirements_files(command)}
    # uv, the venv, the SAM venv, the layer (sam build) and the image (docker build) are all among them.
    assert {"requirements-uv.lock", "requirements-dev.lock", "requirements-sam.lock", "requirements.lock"} <= installed
    assert any(command.startswith("RUN") and "local/requirements.lock" in command for _, command in commands)
    for folder, command in commands:
        assert "--require-hashes" in command, f"installs without hash checking: {command}"
        files = requirements_files(command)
        assert files, f"installs from no lock: {command}"
        for file in files:
            assert file.endswith(".lock"), f"installs from {file}, not from a lock: {command}"
            assert (folder / file).is_file(), f"installs from {file}, which is not in the repository: {command}"


@pytest.mark.parametrize("purpose", LOCKS)
def test_every_locked_package_has_an_exact_version_and_hashes(purpose: str) -> None:
    for name, entry in requirements(LOCKS[purpose]).items():
        assert re.match(rf"{re.escape(name)}==\S+", entry, re.IGNORECASE), entry
        assert "--hash=sha256:" in entry, f"{purpose} lock: {name} has no hash"


def test_the_layer_and_the_image_ship_the_versions_the_tests_run() -> None:
    layer, image, dev = pins(LOCKS["layer"]), pins(LOCKS["image"]), pins(LOCKS["dev"])
    assert {name: image.get(name) for name in layer} == layer
    assert {name: dev.get(name) for name in image} == image


def test_the_image_has_no_development_tools_and_no_embedded_postgres() -> None:
    image = pins(LOCKS["image"])
    for tool in ("pgserver", "pytest", "moto", "ruff", "mypy", "schemathesis", "boto3"):
        assert tool not in image, tool
    assert "pgserver" in pins(LOCKS["dev"])


def test_the_layer_is_resolved_for_the_python_of_lambda_and_of_the_image() -> None:
    runtime = resources()["CoreLayer"]["Properties"]["CompatibleRuntimes"]
    lambda_python = re.search(r"^LAMBDA_PYTHON \?= (\S+)$", (ROOT / "layers/core/Makefile").read_text(), re.MULTILINE)
    assert lambda_python
    assert runtime == [f"python{lambda_python.group(1)}"]
    image_bases = re.findall(r"^FROM python:(\S+?)-slim\b", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert image_bases and set(image_bases) == {lambda_python.group(1)}
