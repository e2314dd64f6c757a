-- One MID as JSON. $1 provider, $2 type, $3 identifier.
SELECT row_to_json(m)::jsonb FROM (
    SELECT provider, mid_type, identifier, merchant, location, postcode, location_id, merchant_internal_id,
           onboarded_by, onboarded_at, updated_at
      FROM {schema}.mids WHERE provider = $1 AND mid_type = $2 AND identifier = $3) m
