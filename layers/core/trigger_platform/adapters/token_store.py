"""TokenStore over PostgreSQL: tenants and the SHA-256 of their API tokens."""

from uuid import UUID, uuid4

from trigger_platform.adapters.postgres import Database


class PostgresTokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def find_token(self, token_hash: bytes) -> tuple[bytes, UUID] | None:
        with self._db.cursor() as cur:
            cur.execute(
                "SELECT token_hash, tenant_id FROM api_tokens WHERE token_hash = %s AND revoked_at IS NULL",
                (token_hash,),
            )
            row = cur.fetchone()
        return (bytes(row[0]), row[1]) if row else None

    def create_tenant(self, name: str) -> UUID:
        with self._db.cursor() as cur:
            cur.execute(
                """
                INSERT INTO tenants (id, name) VALUES (%s, %s)
                ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
                RETURNING id
                """,
                (uuid4(), name),
            )
            (tenant_id,) = cur.fetchone() or (None,)
        return UUID(str(tenant_id))

    def tenant_named(self, name: str) -> UUID | None:
        with self._db.cursor() as cur:
            cur.execute("SELECT id FROM tenants WHERE name = %s", (name,))
            row = cur.fetchone()
        return row[0] if row else None

    def add_token(self, tenant_id: UUID, token_hash: bytes, label: str) -> None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                INSERT INTO api_tokens (token_hash, tenant_id, label) VALUES (%s, %s, %s)
                ON CONFLICT (token_hash) DO NOTHING
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
