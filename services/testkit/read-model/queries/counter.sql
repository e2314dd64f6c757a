-- One counter as the tally's route answers it. $1 the counter.
SELECT json_build_object('counter', counter, 'total', total, 'bumps', bumps, 'deposits', deposits)
  FROM {schema}.counters WHERE counter = $1
