INSERT INTO clio.api_keys (name, fingerprint, scopes, created_by)
VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
