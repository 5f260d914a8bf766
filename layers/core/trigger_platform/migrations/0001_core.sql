-- Tenants, their API tokens (SHA-256 only) and their triggers.
CREATE TABLE tenants (
    id         uuid PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    label      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE triggers (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type         text NOT NULL CHECK (type IN ('scheduled', 'api')),
    definition   jsonb NOT NULL,
    enabled      boolean NOT NULL DEFAULT true,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed')),
    version      integer NOT NULL DEFAULT 1 CHECK (version > 0),
    next_fire_at timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- Keyset pagination: ids are UUIDv7, so id order is creation order within a tenant.
CREATE UNIQUE INDEX triggers_tenant_id_idx ON triggers (tenant_id, id);
