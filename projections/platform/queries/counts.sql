-- How many entries there are by status and source topic (the console and /metrics).
SELECT status, source_topic, count(*) AS entries FROM {schema}.dead_letters GROUP BY status, source_topic ORDER BY status, source_topic
