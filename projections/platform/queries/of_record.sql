-- The entries of one source record (one per consumer that refused it).
SELECT source_topic, source_partition, source_offset, consumer, record_key, reason, value_bytes, status, copies,
       dead_letter_topic, dead_letter_partition, dead_letter_offset, first_seen, last_seen,
       replays, replayed_by, replayed_at, replayed_to_partition, replayed_to_offset
FROM {schema}.dead_letters
WHERE source_topic = $1 AND source_partition = $2 AND source_offset = $3
ORDER BY consumer
