"""Operator commands: ``python -m trigger_platform.edge.cli COMMAND`` — migrate, create-tenant NAME,
add-token TENANT, revoke-token, reconcile.

Run them with DATABASE_URL pointing at the platform's database (on AWS, from a host that can reach
it). On AWS, USAGE_PLAN_ID gives each new tenant its API key in the usage plan that throttles it, and
REST_API_ID with STAGE makes a revocation flush the authorizer cache, so it is immediate there too.
"""

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from trigger_platform import auth
from trigger_platform.edge import wiring
from trigger_platform.errors import DomainError
from trigger_platform.migrations import migrate
from trigger_platform.ports import ApiKeys
from trigger_platform.reconcile import reconcile
from trigger_platform.settings import get_settings

_NO_DRIFT_LOCALLY = (
    "reconcile compares triggers with EventBridge Scheduler (SCHEDULER_BACKEND=eventbridge); the local "
    "runtime's schedules are written in the same transaction as their triggers, so they cannot drift"
)


def _apigateway() -> Any:
    import boto3  # the AWS commands only

    return boto3.client("apigateway")


def _migrate(args: argparse.Namespace) -> int:
    applied = migrate(wiring.database_url())
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def _create_tenant(args: argparse.Namespace) -> int:
    usage_plan = get_settings().usage_plan_id
    api_keys: ApiKeys | None = None
    if usage_plan:
        from trigger_platform.adapters.apigateway import UsagePlanKeys

        api_keys = UsagePlanKeys(_apigateway(), usage_plan)
    tenant_id, token = auth.create_tenant(args.name, tokens=wiring.token_store(), api_keys=api_keys)
    print(f"tenant {args.name.strip()} ({tenant_id})\ntoken (shown once, store it now): {token}")
    return 0


def _add_token(args: argparse.Namespace) -> int:
    tenant_id, token = auth.add_token(args.tenant, tokens=wiring.token_store())
    print(f"tenant {args.tenant.strip()} ({tenant_id})\nnew token (shown once, store it now): {token}")
    return 0


def _revoke_token(args: argparse.Namespace) -> int:
    token = getpass.getpass("token to revoke: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not wiring.token_store().revoke(auth.token_hash(token)):
        print("no such active token", file=sys.stderr)
        return 1
    settings = get_settings()
    if settings.rest_api_id:
        from trigger_platform.adapters.apigateway import flush_authorizer_cache

        flush_authorizer_cache(_apigateway(), settings.rest_api_id, settings.stage)
        print("token revoked; the stage's authorizer cache is flushed")
    else:
        print("token revoked")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    if get_settings().scheduler_backend != "eventbridge":
        print(_NO_DRIFT_LOCALLY, file=sys.stderr)
        return 2
    found = reconcile(store=wiring.unit_of_work().triggers, scheduler=wiring.scheduler(), repair=not args.dry_run)
    print(f"missing schedules: {len(found.missing)}, orphaned schedules: {len(found.orphaned)}")
    for trigger_id in found.missing:
        print(f"  missing  {trigger_id}" + ("  (re-created)" if found.repaired else ""))
    for trigger_id in found.orphaned:
        print(f"  orphaned {trigger_id}" + ("  (deleted)" if found.repaired else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trigger_platform.edge.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "migrate": _migrate,
        "create-tenant": _create_tenant,
        "add-token": _add_token,
        "revoke-token": _revoke_token,
        "reconcile": _reconcile,
    }
    commands.add_parser("migrate", help="apply pending database migrations")
    commands.add_parser("create-tenant", help="create a tenant and print its first token once").add_argument("name")
    commands.add_parser("add-token", help="print another token (once) for an existing tenant").add_argument("tenant")
    commands.add_parser("revoke-token", help="revoke a token read from standard input (never from argv)")
    drift = commands.add_parser("reconcile", help="list and repair drift between triggers and schedules")
    drift.add_argument("--dry-run", action="store_true", help="only list the drift")
    args = parser.parse_args(argv)
    try:
        return handlers[args.command](args)
    except DomainError as refused:
        print(f"{args.command}: {refused.detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
