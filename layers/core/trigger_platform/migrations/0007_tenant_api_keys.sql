-- The API Gateway usage-plan key of each tenant (AWS only): the authorizer returns it as the
-- usageIdentifierKey, so API Gateway throttles every tenant on its own.
ALTER TABLE tenants ADD COLUMN api_key text UNIQUE;
