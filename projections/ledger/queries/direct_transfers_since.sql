-- A coordinator's view of direct transfers: those prepared past a watermark per events
-- partition (the projector writes each partition in offset order, so the watermark is enough).
-- $1 debtor_id, $2 per partition (index partition + 1) the last source offset already seen.
SELECT creditor_id, transfer_id, coordinator_request_id, locked_amount, source_partition, source_offset
  FROM {schema}.prepared_transfers
 WHERE debtor_id = $1 AND coordinator_type = 'direct'
   AND source_offset > COALESCE(($2::int8[])[source_partition + 1], -1)
