-- One page of dead letters, oldest first: $1 status ('' for any), $2 source topic ('' for
-- any), $3 text the reason contains ('' for any); $4 entries skipped, $5 rows. (Dead letters
-- are few: a plain offset pages them.)
SELECT source_topic, source_partition, source_offset, consumer, record_key, reason, value_bytes, status, copies,
       dead_letter_topic, dead_letter_partition, dead_letter_offset, first_seen, last_seen,
       replays, replayed_by, replayed_at, replayed_to_partition, replayed_to_offset
FROM {schema}.dead_letters
WHERE ($1 = '' OR status = $1)
  AND ($2 = '' OR source_topic = $2)
  AND ($3 = '' OR strpos(reason, $3) > 0)
ORDER BY first_seen, source_topic, source_partition, source_offset, consumer
OFFSET $4 LIMIT $5
