-- The ledger's clock: one page of the accounts for which some time-driven work may be due,
-- with their debtor's interest rate. Generous on purpose: the ledger decides exactly.
-- $1, $2 the debtors and their rates; ($3, $4) the account to start after; cut-offs: $5 purge,
-- $6 heartbeat, $7 interest-rate change, $10 capitalisation, $12 reminder; $8, $9 the rate's
-- floor and ceiling; $11 the balance below which a deletion may go ahead; $13 the page size.
WITH rates AS (SELECT * FROM unnest($1::bigint[], $2::float8[]) AS r(debtor_id, rate))
SELECT a.debtor_id, a.creditor_id, coalesce(r.rate, 0)
  FROM {schema}.accounts a LEFT JOIN rates r USING (debtor_id)
 WHERE (a.debtor_id, a.creditor_id) > ($3, $4)
   AND CASE WHEN a.deleted THEN a.last_change_ts <= $5
       ELSE (a.last_change_ts <= $6 AND a.last_update_ts <= $6)
         OR (a.creditor_id <> 0 AND a.last_interest_rate_change_ts < $7
             AND (NOT a.established_interest_rate
                  OR a.interest_rate <> least(greatest(coalesce(r.rate, 0), $8), $9)))
         OR (a.creditor_id <> 0 AND coalesce(a.last_capitalization_at, 'epoch') <= $10
             AND (a.interest <> 0 OR (a.interest_rate <> 0 AND a.principal > 0)))
         OR (a.config_flags & 1 = 1
             AND NOT EXISTS (SELECT 1 FROM {schema}.prepared_transfers p
                              WHERE p.debtor_id = a.debtor_id AND p.creditor_id = a.creditor_id)
             AND CASE WHEN a.creditor_id = 0 THEN a.principal = 0
                 ELSE a.principal + a.interest <= greatest($11, a.negligible_amount) END)
         OR EXISTS (SELECT 1 FROM {schema}.prepared_transfers p
                     WHERE p.debtor_id = a.debtor_id AND p.creditor_id = a.creditor_id
                       AND p.prepared_at <= $12 AND p.last_reminder_ts <= $12)
       END
 ORDER BY a.debtor_id, a.creditor_id
 LIMIT $13
