"""Operator commands: ``python -m trigger_platform.edge.cli migrate | create-tenant NAME | revoke-token | reconcile``.

Run them with DATABASE_URL pointing at the platform's database (on AWS, from a host that can reach it).
"""

import argparse
import getpass
import sys

from trigger_platform.auth import create_tenant_with_token, token_hash
from trigger_platform.edge import wiring
from trigger_platform.migrations import migrate
from trigger_platform.reconcile import reconcile
from trigger_platform.settings import get_settings

_NO_DRIFT_LOCALLY = (
    "reconcile compares triggers with EventBridge Scheduler (SCHEDULER_BACKEND=eventbridge); the local "
    "runtime's schedules are written in the same transaction as their triggers, so they cannot drift"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trigger_platform.edge.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply pending database migrations")
    create = commands.add_parser("create-tenant", help="create a tenant (or reuse it) and print a new token once")
    create.add_argument("name")
    commands.add_parser("revoke-token", help="revoke a token read from standard input (never from argv)")
    drift = commands.add_parser("reconcile", help="list and repair drift between triggers and schedules")
    drift.add_argument("--dry-run", action="store_true", help="only list the drift")
    args = parser.parse_args(argv)

    if args.command == "migrate":
        applied = migrate(wiring.database_url())
        print("applied: " + ", ".join(applied) if applied else "database is up to date")
        return 0
    if args.command == "create-tenant":
        tenant_id, token = create_tenant_with_token(args.name, tokens=wiring.token_store())
        print(f"tenant {args.name} ({tenant_id})\ntoken (shown once, store it now): {token}")
        return 0
    if args.command == "reconcile":
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
    token = getpass.getpass("token to revoke: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if wiring.token_store().revoke(token_hash(token)):
        print("token revoked")
        return 0
    print("no such active token", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
