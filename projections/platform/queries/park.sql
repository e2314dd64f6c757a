-- A dead letter: a new entry, or another copy of one (a re-sent batch: counted; a replayed
-- copy that failed again, $13 true: PARKED again with the new reason and copy).
INSERT INTO dead_letters AS d (
    source_topic, source_partition, source_offset, consumer, record_key, reason, value_bytes, status, copies,
    dead_letter_topic, dead_letter_partition, dead_letter_offset, first_seen, last_seen, failed_again_offset
) VALUES ($1, $2, $3, $4, $5, $6, $7, 'PARKED', 1, $8, $9, $10, $11, $11, $12)
ON CONFLICT (source_topic, source_partition, source_offset, consumer) DO UPDATE SET
    copies = d.copies + 1,
    last_seen = greatest(d.last_seen, excluded.last_seen),
    status = CASE WHEN $13 THEN 'PARKED' ELSE d.status END,
    reason = CASE WHEN $13 THEN excluded.reason ELSE d.reason END,
    failed_again_offset = CASE WHEN $13 THEN excluded.failed_again_offset ELSE d.failed_again_offset END,
    dead_letter_topic = CASE WHEN $13 THEN excluded.dead_letter_topic ELSE d.dead_letter_topic END,
    dead_letter_partition = CASE WHEN $13 THEN excluded.dead_letter_partition ELSE d.dead_letter_partition END,
    dead_letter_offset = CASE WHEN $13 THEN excluded.dead_letter_offset ELSE d.dead_letter_offset END
