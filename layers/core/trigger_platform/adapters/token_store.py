"""TokenStore over PostgreSQL: tenants (with their API Gateway usage key) and the SHA-256 of their
API tokens."""

from uuid import UUID, uuid4

from trigger_platform.adapters.postgres import Database
from trigger_platform.records import FoundToken


class PostgresTokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def find_token(self, token_hash: bytes) -> FoundToken | None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                SELECT t.token_hash, t.tenant_id, n.api_key
                  FROM api_tokens t JOIN tenants n ON n.id = t.tenant_id
                 WHERE t.token_hash = %s AND t.revoked_at IS NULL
                """,
                (token_hash,),
            )
            row = cur.fetchone()
        return FoundToken(bytes(row[0]), row[1], row[2]) if row else None

    def create_tenant(self, name: str, api_key: str | None) -> UUID | None:
        with self._db.cursor() as cur:
            cur.execute(
                "INSERT INTO tenants (id, name, api_key) VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING RETURNING id",  # noqa: E501
                (uuid4(), name, api_key),
            )
            row = cur.fetchone()
        return row[0] if row else None

    def tenant_named(self, name: str) -> UUID | None:
        with self._db.cursor() as cur:
            cur.execute("SELECT id FROM tenants WHERE name = %s", (name,))
            row = cur.fetchone()
        return row[0] if row else None

    def add_token(self, tenant_id: UUID, token_hash: bytes, label: str) -> None:
        """Registering a revoked token of the same tenant again restores it (an operator setting
        API_TOKEN back to an earlier value means it)."""
        with self._db.cursor() as cur:
            cur.execute(
                """
                INSERT INTO api_tokens (token_hash, tenant_id, label) VALUES (%s, %s, %s)
                ON CONFLICT (token_hash) DO UPDATE SET revoked_at = NULL, label = EXCLUDED.label
                 WHERE api_tokens.tenant_id = EXCLUDED.tenant_id
                """,
                (token_hash, tenant_id, label),
            )

    def revoke(self, token_hash: bytes) -> bool:
        with self._db.cursor() as cur:
            cur.execute(
                "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = %s AND revoked_at IS NULL",
                (token_hash,),
            )
            return bool(cur.rowcount)

    def revoke_labelled(self, tenant_id: UUID, label: str, keep: bytes) -> int:
        with self._db.cursor() as cur:
            cur.execute(
                """
                UPDATE api_tokens SET revoked_at = now()
                 WHERE tenant_id = %s AND label = %s AND token_hash <> %s AND revoked_at IS NULL
                """,
                (tenant_id, label, keep),
            )
            return int(cur.rowcount)
