"""Tenants and their bearer tokens: issued at random, stored only as SHA-256, compared in constant
time, and refused by their shape alone, without a database query, when they cannot be one of ours."""

import hashlib
import hmac
import re
import secrets
from uuid import UUID

from trigger_platform.errors import Conflict, FieldError, InvalidInput, NotFound, Unauthenticated
from trigger_platform.ports import ApiKeys, TokenStore

TOKEN_PREFIX = "etp_"  # noqa: S105 - a visible prefix so leaked tokens are recognisable  # nosec B105
#: What ``issue_token`` makes: the prefix and 32 random bytes in base64url.
ISSUED_TOKEN = re.compile(r"etp_[A-Za-z0-9_-]{43}")
#: The Authorization header API Gateway lets through to the authorizer (its ValidationExpression).
AUTHORIZATION_PATTERN = r"^Bearer etp_[A-Za-z0-9_-]{43}$"
#: A deployment's own token (API_TOKEN) is 32-512 of these characters (8 and up on loopback only).
_CONFIGURABLE = re.compile(r"[A-Za-z0-9._~+/=-]{8,512}")
MIN_TOKEN_LENGTH = 32
#: The label of the token a deployment configures (API_TOKEN): configuring another replaces it.
CONFIGURED_TOKEN_LABEL = "API_TOKEN"  # noqa: S105  # nosec B105


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


def authenticate(
    authorization: str | None, *, tokens: TokenStore, configured: str | None = None
) -> tuple[UUID, str | None]:
    """The tenant an ``Authorization`` header belongs to, and its API Gateway usage key (if it has
    one); Unauthenticated otherwise. A token that is neither of the issued shape nor the
    deployment's ``configured`` one is refused without asking the store."""
    token = bearer_token(authorization)
    if not ISSUED_TOKEN.fullmatch(token) and not (configured and hmac.compare_digest(token, configured)):
        raise Unauthenticated("The bearer token is not valid.")
    presented = token_hash(token)
    found = tokens.find_token(presented)
    # The index lookup finds the row; the final say is a constant-time comparison of the hashes.
    if found is None or not hmac.compare_digest(found.token_hash, presented):
        raise Unauthenticated("The bearer token is not valid.")
    return found.tenant_id, found.api_key


def _tenant_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200 or not cleaned.isprintable():
        raise InvalidInput(
            "The tenant name is not valid.", errors=[FieldError("name", "must be 1-200 printable characters")]
        )
    return cleaned


def create_tenant(name: str, *, tokens: TokenStore, api_keys: ApiKeys | None = None) -> tuple[UUID, str]:
    """A new tenant and its first token (shown once); a name already taken is refused, never
    answered with a token for that tenant's data. On AWS the tenant also gets its API key."""
    cleaned = _tenant_name(name)
    if tokens.tenant_named(cleaned) is not None:
        raise Conflict(f"A tenant named {cleaned!r} exists; give it another token with add-token.")
    api_key = api_keys.issue(cleaned) if api_keys else None
    tenant_id = tokens.create_tenant(cleaned, api_key)
    if tenant_id is None:
        raise Conflict(f"A tenant named {cleaned!r} was just created by someone else.")
    token = issue_token()
    tokens.add_token(tenant_id, token_hash(token), label=cleaned)
    return tenant_id, token


def add_token(name: str, *, tokens: TokenStore) -> tuple[UUID, str]:
    """Another token for an existing tenant (to rotate: add one, move clients, revoke the old)."""
    tenant_id = tokens.tenant_named(_tenant_name(name))
    if tenant_id is None:
        raise NotFound(f"There is no tenant named {name.strip()!r}.")
    token = issue_token()
    tokens.add_token(tenant_id, token_hash(token), label=name.strip())
    return tenant_id, token


def use_configured_token(name: str, token: str, *, tokens: TokenStore, min_length: int = MIN_TOKEN_LENGTH) -> UUID:
    """Make ``token`` the configured token of tenant ``name`` (created if need be): the token the
    previous configuration registered is revoked, so changing API_TOKEN revokes the old one."""
    if len(token) < min_length or not _CONFIGURABLE.fullmatch(token):
        raise InvalidInput(
            "The configured token is not valid.",
            errors=[FieldError("API_TOKEN", f"must be {min_length}-512 letters, digits or ._~+/=-")],
        )
    cleaned = _tenant_name(name)
    tenant_id = tokens.tenant_named(cleaned) or tokens.create_tenant(cleaned, None) or tokens.tenant_named(cleaned)
    if tenant_id is None:
        raise Conflict(f"The tenant {cleaned!r} could not be created.")
    digest = token_hash(token)
    tokens.revoke_labelled(tenant_id, CONFIGURED_TOKEN_LABEL, keep=digest)
    tokens.add_token(tenant_id, digest, label=CONFIGURED_TOKEN_LABEL)
    return tenant_id
