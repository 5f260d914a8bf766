"""Each function's cold start in the Lambda image, what tracing would add to it, and what it imports
that it may not use (issue 16).

- Cold starts under SAM: one `sam build` into a directory of its own, then `sam local invoke` of
  every function in template.yaml with its sample event from events/, INVOKES times each (each
  invoke is a new container, so a cold start), on the stand-in Lambda image, vs a floor function
  built beside them on the same layer and invoked the same way, whose handler only imports
  `aws_lambda_powertools.event_handler, pydantic, psycopg2`: ≤ 1.3x. The figure is the REPORT line's
  Init Duration where the emulator measures the runtime's start in it; SAM's emulator starts the
  runtime on the first invoke instead (its Init Duration is a fraction of a millisecond), and then
  the figure is that invocation's Duration: runtime start, import and first invocation. A function
  that imports nothing shows what the runtime itself takes.
- Import in the image: each handler's import in a fresh interpreter of the image's Python, with the
  built function and layer mounted read-only where Lambda puts them (so, as on Lambda, no bytecode
  is cached between cold starts), vs the floor's import: ≤ 1.3x; and both once more with a bytecode
  cache for that Python, to show what shipping one would save.
- Tracing: GetTriggerFunction's import as it is (Lambda's active tracing, no SDK in the function),
  with Powertools' Tracer made at module level, and with Tracer made on first use (its cost moves
  into the first invocation; timed in the process, so it is also what Tracer adds wherever it is
  made), patching everything it can (its default) or psycopg2 only. The X-Ray SDK
  comes from bench/tracing.lock, installed into a temporary directory.
- The heavy packages each function's import loads, with their import time (-X importtime).

Invocations reach a PostgreSQL container of the run's own (migrated, with a tenant), as
tests/e2e/test_sam_local.py's do. Needs a Docker engine and the SAM CLI (`make .venv-sam/.installed`);
skipped, saying why, without them. About 8-15 minutes here.

``--with-bytecode``: the layer as `sam build` makes it where Lambda's Python (python3.14) is on the
build machine's PATH, which this machine's is not: after the build, the Makefile's own compileall
command is run by the image's Python over the built layer.
"""

import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_core import FLOOR_IMPORT, IMPORT_TARGET
from common import ROOT, duration, heading, median, show, show_ratio

from local.template import Function, load_template
from tests.conftest import Tenant, api_event, load_event
from tests.e2e.test_sam_local import (
    SKIP_PULL,
    Database,
    create_tenant,
    docker,
    docker_network,
    engine_answers,
    postgres_on,
    sam_cli,
    sam_environment,
    write_env_vars,
)
from trigger_platform import retention
from trigger_platform.adapters import postgres
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.retention_store import PostgresRetentionStore
from trigger_platform.clock import SystemClock

IMAGE = "public.ecr.aws/lambda/python:3.14-x86_64"
INVOKES = 3
IMPORT_ROUNDS = 7
#: Docker networks and containers of this benchmark are named so.
PREFIX = "etp-cold"
#: Packages a handler should import only if it uses them at cold start.
HEAVY = (
    "boto3",
    "botocore",
    "redis",
    "aws_xray_sdk",
    "wrapt",
    "requests",
    "httpx",
    "urllib3",
    "standardwebhooks",
    "opentelemetry",
)
TRACING_FUNCTION = "GetTriggerFunction"
TRACER_LOCK = ROOT / "bench" / "tracing.lock"
REPORT = re.compile(
    r"REPORT RequestId: \S+\s+(?:Init Duration: (?P<init>[\d.]+) ms\s+)?Duration: (?P<duration>[\d.]+) ms"
)
#: Where Lambda puts a function's code and its layers, and the path its bootstrap gives Python.
TASK, LAYERS = "/var/task", "/opt"
FLOOR_HANDLER = f"{FLOOR_IMPORT}  # noqa: F401\n\n\ndef lambda_handler(event, context):\n    return {{}}\n"
BARE_HANDLER = "def lambda_handler(event, context):\n    return {}\n"
PROBES_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: bench_cold_start.py's reference functions, on the layer `sam build` made for template.yaml.
Globals:
  Function:
    Runtime: {Runtime}
    Architectures: [x86_64]
    MemorySize: {MemorySize}
    Timeout: {Timeout}
    Layers: [!Ref CoreLayer]
Resources:
  CoreLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: {layer}
  FloorFunction:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: floor/, Handler: app.lambda_handler}}
  BareFunction:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: bare/, Handler: app.lambda_handler}}
"""


# Running SAM ---------------------------------------------------------------------------------


def function_globals() -> dict[str, str]:
    """The Runtime, MemorySize and Timeout every function of template.yaml shares (its Globals)."""
    text = (ROOT / "template.yaml").read_text()
    section = text.split("\nGlobals:", 1)[1].split("\nResources:", 1)[0]
    found = {
        key: re.search(rf"^\s+{key}: (\S+)$", section, re.MULTILINE) for key in ("Runtime", "MemorySize", "Timeout")
    }
    return {key: match[1] for key, match in found.items() if match}


def sam(cli: str, *args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the SAM CLI with our own arguments
        [cli, *args], cwd=ROOT, env=sam_environment(), capture_output=True, text=True, timeout=timeout_s, check=False
    )


def write_reference_functions(work: Path, layer: Path) -> Path:
    """The floor and bare functions' template, on the built layer; returns the template."""
    for name, handler in (("floor", FLOOR_HANDLER), ("bare", BARE_HANDLER)):
        (work / name).mkdir(parents=True)
        (work / name / "app.py").write_text(handler)
    template = work / "template.yaml"
    template.write_text(PROBES_TEMPLATE.format(layer=layer, **function_globals()))
    return template


def sample_event(function: Function, tenant: Tenant) -> dict[str, Any]:
    """The function's first sample event in events/ (``<name>.json`` or ``<name>-<case>.json``),
    addressed to the run's tenant; ``{}`` for a function without one (the retention cron, which
    reads nothing from its event, gets what the local runtime's cron sends)."""
    name = function.code_uri.name
    files = sorted([*ROOT.glob(f"events/{name}.json"), *ROOT.glob(f"events/{name}-*.json")])
    if not files:
        return {}
    event = load_event(files[0].stem)
    if "requestContext" in event:
        return api_event(files[0].stem, tenant if "authorizer" in event["requestContext"] else None)
    if "authorizationToken" in event:
        event["authorizationToken"] = f"Bearer {tenant.token}"
    if "tenant_id" in event:
        event["tenant_id"] = str(tenant.id)
    return event


def answer(stdout: str) -> str:
    """What an invocation answered, in a word: its HTTP status, a fire's status, or an error type."""
    lines = stdout.strip().split("\n")  # not splitlines(): a body may hold U+2028 and its kin
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return "unreadable"
    if not isinstance(result, dict):
        return "no answer"
    for key in ("statusCode", "status", "errorType"):
        if key in result:
            return str(result[key])
    if "batchItemFailures" in result:
        return f"{len(result['batchItemFailures'])} to retry"
    if "ran" in result:
        return "ran" if result["ran"] else "did not run"
    return "allow" if "policyDocument" in result else "answered"


@dataclass
class ColdStarts:
    """What the emulator's REPORT lines said of each function's invocations (ms), how long each
    `sam local invoke` took end to end (s), and what the invocations answered."""

    inits: dict[str, list[float]]
    durations: dict[str, list[float]]
    walls: dict[str, list[float]]
    answers: dict[str, set[str]]


def cold_starts(
    cli: str, targets: dict[str, tuple[Path, dict[str, Any]]], env_vars: Path, network: str, work: Path
) -> ColdStarts:
    """INVOKES rounds of `sam local invoke`, every function once a round, in a new order each round."""
    runs = ColdStarts(
        inits={name: [] for name in targets},
        durations={name: [] for name in targets},
        walls={name: [] for name in targets},
        answers={name: set() for name in targets},
    )
    for name, (_, event) in targets.items():
        (work / f"{name}.json").write_text(json.dumps(event))
    for _ in range(INVOKES):
        order = list(targets)
        random.shuffle(order)
        for name in order:
            template, _ = targets[name]
            started = time.perf_counter()
            done = sam(
                cli, "local", "invoke", name, "-t", str(template), "-e", str(work / f"{name}.json"),
                "--env-vars", str(env_vars), "--docker-network", network, SKIP_PULL,
            )  # fmt: skip
            runs.walls[name].append(time.perf_counter() - started)
            report = REPORT.search(done.stderr)
            if done.returncode or report is None:
                runs.answers[name].add(f"failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
                continue
            if report["init"] is not None:
                runs.inits[name].append(float(report["init"]))
            runs.durations[name].append(float(report["duration"]))
            runs.answers[name].add(answer(done.stdout))
    return runs


# Probing inside the image --------------------------------------------------------------------


def install_xray_sdk(into: Path, python_version: str) -> str | None:
    """The X-Ray SDK of TRACER_LOCK for the image's Python; None, or why it could not be had."""
    # pip of the Python on PATH, as the layer's build runs it (the venv has none).
    done = subprocess.run(  # noqa: S603 - from a hash-checked lock
        [  # noqa: S607
            "python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
            "--no-deps", "--platform", "manylinux2014_x86_64", "--implementation", "cp",
            "--python-version", python_version, "--only-binary=:all:", "-r", str(TRACER_LOCK), "-t", str(into),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["pip failed"])[-1]


def runtime_environment(task: str, python_version: str) -> dict[str, str]:
    """What the Lambda runtime's bootstrap sets before it imports a handler from ``task``."""
    layer_path = f"{LAYERS}/python/lib/python{python_version}/site-packages:{LAYERS}/python"
    return {
        "LAMBDA_TASK_ROOT": task,
        "PYTHONPATH": f"{task}:{layer_path}:/var/runtime",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{python_version}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def import_plan(functions: dict[str, Function], python_version: str, xray: str | None) -> dict[str, dict[str, Any]]:
    """Every probe: each function's handler module and the floor's, without and with a bytecode
    cache; the tracing designs on TRACING_FUNCTION (when the X-Ray SDK could be installed)."""
    probes: dict[str, dict[str, Any]] = {}
    for name, function in functions.items():
        task = f"/build/{name}"
        module = function.handler.rsplit(".", 1)[0]
        environment = {
            **function.environment,
            **runtime_environment(task, python_version),
            "AWS_LAMBDA_FUNCTION_NAME": name,
        }
        probes[name] = {"imports": f"import {module}", "env": environment, "cwd": task}
    probes["floor"] = {"imports": FLOOR_IMPORT, "env": runtime_environment(TASK, python_version), "cwd": TASK}
    cache = {"PYTHONPYCACHEPREFIX": "/tmp/pycache"}  # noqa: S108 - inside the probe's container
    for name in (TRACING_FUNCTION, "floor"):
        probes[f"{name} +pyc"] = {**probes[name], "env": {**probes[name]["env"], **cache}}
    if xray is not None:
        base = probes[TRACING_FUNCTION]
        traced = {**base, "env": {**base["env"], "PYTHONPATH": f"{base['env']['PYTHONPATH']}:{xray}"}}
        tracer = "from aws_lambda_powertools import Tracer\ntracer = Tracer()"
        only_psycopg2 = tracer.replace("Tracer()", "Tracer(patch_modules=['psycopg2'])")
        probes["tracer at module level"] = {**traced, "imports": f"{tracer}\n{base['imports']}"}
        probes["tracer on first use"] = {**traced, "first_use": tracer}
        probes["tracer on first use, psycopg2 only"] = {**traced, "first_use": only_psycopg2}
        probes["the X-Ray SDK alone"] = {**traced, "imports": "import aws_xray_sdk.core"}
    return probes


def probe_in_image(build: Path, xray: Path | None, probes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """lambda_probe.py in one container of the image: the built functions under /build, the layer at
    /opt, read-only; no network; the functions' memory."""
    layer, scripts = build / "CoreLayer", ROOT / "bench"
    mounts = ["-v", f"{build}:/build:ro", "-v", f"{layer}:{LAYERS}:ro", "-v", f"{scripts}:/bench:ro"]
    if xray is not None:
        mounts += ["-v", f"{xray}:/xray:ro"]
    plan = json.dumps({"probes": probes, "heavy": HEAVY, "rounds": IMPORT_ROUNDS})
    memory = function_globals().get("MemorySize", "512")
    done = subprocess.run(  # noqa: S603 - docker on PATH, as the e2e tests run it
        [  # noqa: S607
            "docker", "run", "--rm", "-i", "--name", f"{PREFIX}-probe-{random.randrange(16**8):08x}",
            "--network", "none", "--memory", f"{memory}m", *mounts, "--entrypoint", "/var/lang/bin/python3",
            IMAGE, "/bench/lambda_probe.py",
        ],
        input=plan, capture_output=True, text=True, timeout=1800, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def compile_layer(layer: Path) -> None:
    """The built layer's bytecode, written by the image's Python with the Makefile's own command."""
    makefile = (ROOT / "layers/core/Makefile").read_text()
    command = re.search(r'"\$\(LAMBDA_PYTHON_BIN\)" (-m compileall .*) "\$\(ARTIFACTS_DIR\)/python"', makefile)
    if command is None:
        raise SystemExit("layers/core/Makefile no longer compiles the layer as this benchmark expects")
    docker(
        "run", "--rm", "-u", f"{os.getuid()}:{os.getgid()}", "-v", f"{layer}:{layer}", "--entrypoint",
        "/var/lang/bin/python3", IMAGE, *command[1].split(), f"{layer}/python",
    )  # fmt: skip
    print(f"the layer compiled by the image's Python ({command[1]})")


def image_python() -> str:
    """The image's Python as Lambda names it (``3.14``)."""
    return docker("run", "--rm", "--entrypoint", "sh", IMAGE, "-c", "echo $LAMBDA_PY_VERSION")


# Reporting -----------------------------------------------------------------------------------


def ns(values: list[float], unit: float) -> list[float]:
    return [value * unit for value in values]


def show_cold_starts(runs: ColdStarts, functions: list[str]) -> None:
    """Init Duration against the floor's where the emulator measures the runtime's start; else the
    cold invocation's Duration, which then holds the runtime's start, the import and the first
    invocation (the floor's and the bare function's first invocations do nothing)."""
    every_init = [init for values in runs.inits.values() for init in values]
    meaningful = median(runs.inits["FloorFunction"] or [0]) >= 1
    figures = runs.inits if meaningful else runs.durations
    if not meaningful:
        span = f"{min(every_init):.2f}-{max(every_init):.2f} ms" if every_init else "absent"
        print(
            f"  The emulator's Init Duration is {span}: it starts the runtime on the first invoke, so the"
            " figure below is\n  the cold invocation's Duration (runtime start + import + first invocation)."
        )
    floor = ns(figures["FloorFunction"], 1e6)
    for label, name in (("a function that imports nothing", "BareFunction"), ("the floor", "FloorFunction")):
        measured = ns(figures[name], 1e6)
        show(f"  {label}", duration(median(measured)) if measured else "not measured", "", None)
    for name in functions:
        said = ", ".join(sorted(runs.answers[name]))
        if figures[name] and floor:
            show_ratio(f"{name} ({said})", ns(figures[name], 1e6), floor, IMPORT_TARGET)
        else:
            show(name, f"not measured: {said}", "", None)
    every_wall = [wall for values in runs.walls.values() for wall in values]
    print(f"  (each `sam local invoke` took {min(every_wall):.1f}-{max(every_wall):.1f} s end to end)")


def import_seconds(samples: dict[str, list[dict[str, Any]]], name: str, key: str = "import_s") -> list[float]:
    return [sample[key] * 1e9 for sample in samples[name]]


def show_imports(result: dict[str, Any], functions: list[str]) -> None:
    samples = result["samples"]
    floor = import_seconds(samples, "floor")
    show("  the floor", f"{duration(median(floor))} (p95 {duration(max(floor))})", "", None)
    for name in functions:
        show_ratio(name, import_seconds(samples, name), floor, IMPORT_TARGET)
    cached = import_seconds(samples, "floor +pyc")
    show("  with a bytecode cache: the floor", duration(median(cached)), "", None)
    show_ratio(f"  {TRACING_FUNCTION}", import_seconds(samples, f"{TRACING_FUNCTION} +pyc"), cached, IMPORT_TARGET)


def show_tracing(result: dict[str, Any], xray_problem: str | None) -> None:
    samples = result["samples"]
    now = median(import_seconds(samples, TRACING_FUNCTION))
    show("as now: Lambda's active tracing, no SDK in the function", duration(now), "", None)
    if xray_problem is not None:
        show("Powertools Tracer", f"not measured: the X-Ray SDK could not be installed ({xray_problem})", "", None)
        return
    module_level = median(import_seconds(samples, "tracer at module level"))
    sign = "+" if module_level >= now else "-"
    show(
        "Tracer() at module level: import",
        f"{duration(module_level)} ({sign}{duration(abs(module_level - now))})",
        "",
        None,
    )
    lazy = median(import_seconds(samples, "tracer on first use"))
    show("Tracer() on first use: import", duration(lazy), "", None)
    for label, probe in (
        ("Tracer()", "tracer on first use"),
        ("Tracer(), psycopg2 only", "tracer on first use, psycopg2 only"),
    ):
        first_use = median(import_seconds(samples, probe, "first_use_s"))
        show(f"  its first invocation pays for {label}", duration(first_use), "", None)
    alone = import_seconds(samples, "the X-Ray SDK alone")
    show("the X-Ray SDK alone (import aws_xray_sdk.core)", duration(median(alone)), "", None)
    show("ADOT (a layer: collector extension + auto-instrumentation)", "not measured: cannot be pulled here", "", None)


def show_heavy(result: dict[str, Any], functions: list[str]) -> None:
    """Each heavy package some function (or the floor) imports, who imports it, and its import time."""
    samples, costs = result["samples"], {name: cost["heavy"] for name, cost in result["import_costs"].items()}
    importers = {name: {package for sample in samples[name] for package in sample["loaded"]} for name in samples}
    for package in HEAVY:
        by = [name for name in functions if package in importers[name]]
        if not by:
            show(f"{package} imported at cold start", f"0 of {len(functions)} functions", "none", True)
            continue
        seconds = [costs[name][package] * 1e9 for name in by if package in costs[name]]
        who = "all" if len(by) == len(functions) else ", ".join(by)
        floor = " and the floor" if package in importers["floor"] else ""
        value = f"{len(by)} of {len(functions)} ({who}){floor}; import {duration(statistics.median(seconds))}"
        show(f"{package} imported at cold start", value, "", None)


def show_breakdown(result: dict[str, Any], top: int = 8) -> None:
    """Where TRACING_FUNCTION's import goes beyond the floor's: each top-level package's own modules."""
    handler, floor = (result["import_costs"][name]["packages"] for name in (TRACING_FUNCTION, "floor"))
    extra = {package: handler.get(package, 0.0) - floor.get(package, 0.0) for package in handler.keys() | floor.keys()}
    for package, seconds in sorted(extra.items(), key=lambda item: -item[1])[:top]:
        show(f"  {package}", f"+{duration(seconds * 1e9)}", "", None)
    show(
        "  all packages", f"{duration(sum(handler.values()) * 1e9)} vs {duration(sum(floor.values()) * 1e9)}", "", None
    )


# The run ------------------------------------------------------------------------------------


@contextmanager
def postgres_with_tenant() -> Iterator[tuple[str, Database, Tenant]]:
    """The database the invocations reach, with a tenant, and the log partitions the retention cron
    keeps ahead (it runs once here first, as it does within five minutes of a deploy)."""
    with docker_network(PREFIX) as network, postgres_on(network) as database:
        with closing(postgres.Database(lambda: database.host_url)) as db:
            retention.run_retention(store=PostgresRetentionStore(db, LogPartitions(db)), clock=SystemClock())
        yield network, database, create_tenant(database, prefix="cold")


def main() -> None:
    started = time.perf_counter()
    cli = sam_cli()
    if not engine_answers():
        print("skipped: no Docker engine answers `docker info` (sam local needs one)")
        return
    if cli is None:
        print("skipped: no AWS SAM CLI (`make .venv-sam/.installed` installs it)")
        return
    template = load_template(ROOT / "template.yaml")
    names = sorted(template.functions)
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-") as scratch, postgres_with_tenant() as (network, db, tenant):
        work = Path(scratch)
        build = work / "build"
        built = sam(cli, "build", "--build-dir", str(build))
        if built.returncode:
            raise SystemExit(f"sam build failed:\n{built.stdout[-2000:]}\n{built.stderr[-4000:]}")
        print(f"sam build into a directory of its own: {time.perf_counter() - started:.0f} s")
        if "--with-bytecode" in sys.argv[1:]:
            compile_layer(build / "CoreLayer")
        references = write_reference_functions(work / "references", build / "CoreLayer")
        targets = {name: (build / "template.yaml", sample_event(template.functions[name], tenant)) for name in names}
        targets |= {name: (references, {}) for name in ("FloorFunction", "BareFunction")}
        env_vars = write_env_vars(db, work / "env.json")
        runs = cold_starts(cli, targets, env_vars, network, work)
        heading(
            f"cold starts under `sam local invoke` ({IMAGE}, the stand-in), medians of {INVOKES} each, vs a"
            f" function importing `{FLOOR_IMPORT}` (what each answered in brackets)"
        )
        show_cold_starts(runs, names)

        python_version = image_python()
        xray = work / "xray"
        xray_problem = install_xray_sdk(xray, python_version)
        plan = import_plan(template.functions, python_version, None if xray_problem else "/xray")
        result = probe_in_image(build, None if xray_problem else xray, plan)
        heading(
            f"import in the image (Python {result['python']}; function and layer read-only, no bytecode cached,"
            f" as on Lambda), fresh interpreter, medians of {IMPORT_ROUNDS} rounds, vs `{FLOOR_IMPORT}`"
        )
        show_imports(result, names)
        heading(f"tracing designs: {TRACING_FUNCTION}'s import in the same rounds (Lambda environment, tracing on)")
        show_tracing(result, xray_problem)
        heading("heavy packages imported at cold start, in the image (import time from -X importtime)")
        show_heavy(result, names)
        heading(f"where {TRACING_FUNCTION}'s import goes beyond the floor's (-X importtime, self time by package)")
        show_breakdown(result)
    print(f"\ntotal {time.perf_counter() - started:.0f} s (indicative: a shared 2-core machine)")


if __name__ == "__main__":
    main()
