"""Run by bench_cold_start.py inside the Lambda image, with the built functions and layer mounted
read-only where Lambda puts them: each probe's code in a fresh interpreter, in rounds whose order
changes, and once under ``-X importtime`` to say what each heavy package it loaded cost and where
its import time went, package by package.

Standard library only: it runs on the image's Python, not the project's venv. Reads the plan (JSON)
on stdin, prints the samples (JSON) on stdout.
"""

import json
import os
import random
import subprocess
import sys

#: Wraps a probe's code: the seconds its import takes, the heavy packages the interpreter then
#: holds, and the seconds of its first use (if it has one).
WRAPPER = """
import sys, time
start = time.perf_counter()
{imports}
imported = time.perf_counter()
loaded = [name for name in {heavy!r} if name in sys.modules]
first = time.perf_counter()
{first_use}
used = time.perf_counter()
import json
print(json.dumps({{"import_s": imported - start, "first_use_s": used - first, "loaded": loaded}}))
"""


def program(probe: dict, heavy: list[str]) -> str:
    return WRAPPER.format(imports=probe["imports"], first_use=probe.get("first_use") or "pass", heavy=heavy)


def run(probe: dict, heavy: list[str], *flags: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **probe["env"]}
    return subprocess.run(  # noqa: S603 - this interpreter, running the plan's code
        [sys.executable, *flags, "-c", program(probe, heavy)],
        env=environment,
        cwd=probe.get("cwd") or "/",
        capture_output=True,
        text=True,
        check=True,
    )


def import_costs(importtime: str, heavy: list[str]) -> dict[str, dict[str, float]]:
    """From ``-X importtime``'s report: the seconds of each heavy package's imports (its cumulative
    time wherever it was first imported, its later submodules' too), and the seconds each top-level
    package's own modules took (their self times)."""
    rows = []
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows.append((depth, name.strip(), int(own) / 1e6, int(cumulative) / 1e6))
    costs = dict.fromkeys(heavy, 0.0)
    packages: dict[str, float] = {}
    ancestors: list[tuple[int, str]] = []
    # Reversed, a parent comes before its children: count a package's line only where no
    # enclosing import is already that package's.
    for depth, name, own, cumulative in reversed(rows):
        while ancestors and ancestors[-1][0] >= depth:
            ancestors.pop()
        package = name.split(".")[0]
        packages[package] = packages.get(package, 0.0) + own
        if package in costs and all(parent.split(".")[0] != package for _, parent in ancestors):
            costs[package] += cumulative
        ancestors.append((depth, name))
    return {"heavy": {name: seconds for name, seconds in costs.items() if seconds}, "packages": packages}


def main() -> None:
    plan = json.load(sys.stdin)
    probes, heavy = plan["probes"], plan["heavy"]
    samples: dict[str, list[dict]] = {name: [] for name in probes}
    for round_number in range(plan["rounds"] + 1):  # round 0 warms the disk cache and is dropped
        order = list(probes)
        random.shuffle(order)
        for name in order:
            measured = json.loads(run(probes[name], heavy).stdout)
            if round_number:
                samples[name].append(measured)
    costs = {name: import_costs(run(probe, heavy, "-X", "importtime").stderr, heavy) for name, probe in probes.items()}
    print(json.dumps({"python": sys.version.split()[0], "samples": samples, "import_costs": costs}))


if __name__ == "__main__":
    main()
