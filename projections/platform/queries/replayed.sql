-- A replay, for every consumer that refused the record. An entry whose replayed copy already
-- failed again (the failure may be applied first: another topic) stays PARKED.
UPDATE dead_letters SET
    replays = replays + 1,
    replayed_by = $4,
    replayed_at = $5,
    replayed_to_partition = $6,
    replayed_to_offset = $7,
    status = CASE WHEN failed_again_offset IS NOT DISTINCT FROM $7 THEN status ELSE 'REPLAYED' END
WHERE source_topic = $1 AND source_partition = $2 AND source_offset = $3
