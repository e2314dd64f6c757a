-- Every MID onboarded for a merchant at one of its locations (any card scheme, any type): what a
-- merchant row that names its shop by location (Stonegate, Itsu) carries. $1 merchant, $2 location id.
SELECT DISTINCT identifier FROM {schema}.mids WHERE merchant = $1 AND location_id = $2 ORDER BY identifier
