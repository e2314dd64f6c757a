UPDATE clio.api_keys SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, $2)
WHERE name = $1
RETURNING revoked_at
