"""Bearer tokens: issued at random, stored only as SHA-256, compared in constant time."""

import hashlib
import hmac
import secrets
from uuid import UUID

from trigger_platform.errors import Unauthenticated
from trigger_platform.ports import TokenStore

TOKEN_PREFIX = "etp_"  # noqa: S105 - a visible prefix so leaked tokens are recognisable  # nosec B105


def issue_token() -> str:
    """A new random token; the caller shows it once and stores only its hash."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def bearer_token(authorization: str | None) -> str:
    """The token in an ``Authorization: Bearer <token>`` header value."""
    if not authorization:
        raise Unauthenticated("A bearer token is required.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        raise Unauthenticated("A bearer token is required.")
    return token


def authenticate(authorization: str | None, *, tokens: TokenStore) -> UUID:
    """The tenant an ``Authorization`` header belongs to; Unauthenticated otherwise."""
    presented = token_hash(bearer_token(authorization))
    found = tokens.find_token(presented)
    # The index lookup finds the row; the final say is a constant-time comparison of the hashes.
    if found is None or not hmac.compare_digest(found[0], presented):
        raise Unauthenticated("The bearer token is not valid.")
    return found[1]


def create_tenant_with_token(name: str, *, tokens: TokenStore, token: str | None = None) -> tuple[UUID, str]:
    """Create (or reuse) the tenant ``name`` and register ``token`` (a new random one when None)."""
    tenant_id = tokens.tenant_named(name) or tokens.create_tenant(name)
    token = token or issue_token()
    tokens.add_token(tenant_id, token_hash(token), label=name)
    return tenant_id, token
