SELECT name, fingerprint, scopes FROM clio.api_keys WHERE revoked_at IS NULL ORDER BY name
