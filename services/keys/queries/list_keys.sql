SELECT name, scopes, created_at, created_by, revoked_at, revoked_by FROM clio.api_keys ORDER BY created_at, name
