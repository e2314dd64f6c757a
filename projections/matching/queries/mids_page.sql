-- One page of MIDs, as a JSON array ordered by key (provider:TYPE:identifier). $1 merchant
-- (NULL: any), $2 provider (NULL: any), $3 the key to start after, $4 the page size.
SELECT coalesce(json_agg(row_to_json(m) ORDER BY m.key), '[]'::json) FROM (
    SELECT provider || ':' || mid_type || ':' || identifier AS key, provider, mid_type, identifier, merchant,
           location, postcode, location_id, merchant_internal_id, onboarded_by, onboarded_at, updated_at
      FROM {schema}.mids
     WHERE ($1::text IS NULL OR merchant = $1) AND ($2::text IS NULL OR provider = $2)
       AND provider || ':' || mid_type || ':' || identifier > $3
     ORDER BY 1 LIMIT $4) m
