//! The tally's read model: a conformance model for the projection runtime's tests.

use clio_projection::{Envelope, Migration, ReadModel};
use futures::future::BoxFuture;
use sqlx::PgConnection;

use crate::tally::TallyEvent;

pub const MIGRATIONS: &[Migration] =
    &[Migration { version: 1, name: "counters", sql: include_str!("../read-model/0001_counters.sql") }];

#[derive(Debug, Clone, Copy, Default)]
pub struct TallyModel;

impl ReadModel for TallyModel {
    type Event = TallyEvent;

    fn name(&self) -> &'static str {
        "tally"
    }

    fn topics(&self) -> &'static [&'static str] {
        &["tally.events"]
    }

    fn migrations(&self) -> &[Migration] {
        MIGRATIONS
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope<TallyEvent>],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(apply(tx, events))
    }
}

async fn apply(tx: &mut PgConnection, events: &[Envelope<TallyEvent>]) -> Result<(), sqlx::Error> {
    #[derive(Default)]
    struct Columns {
        counter: Vec<String>,
        total: Vec<Option<i64>>,
        bumps: Vec<Option<i64>>,
        deposits: Vec<i64>,
        topic: Vec<String>,
        partition: Vec<i32>,
        offset: Vec<i64>,
        event_id: Vec<String>,
        event_at: Vec<chrono::DateTime<chrono::Utc>>,
    }
    let mut rows = Columns::default();
    let mut moves = Columns::default();
    let mut move_amounts = Vec::new();
    let mut move_commands = Vec::new();
    for e in events {
        let (counter, total, bumps, deposits) = match &e.event {
            TallyEvent::Balance(b) => (&b.counter, Some(b.total), None, 0),
            TallyEvent::Bumped(b) => (&b.counter, None, Some(b.bumps), 0),
            TallyEvent::Deposited(d) => {
                move_amounts.push(d.amount);
                move_commands.push(d.command_id.clone());
                push_position(&mut moves, &d.counter, e);
                (&d.counter, None, None, 1)
            }
            TallyEvent::Withdrawn(w) => {
                move_amounts.push(-w.amount);
                move_commands.push(w.command_id.clone());
                push_position(&mut moves, &w.counter, e);
                (&w.counter, None, None, 0)
            }
            TallyEvent::Refused(r) => (&r.counter, None, None, 0),
            TallyEvent::Scheduled(s) => (&s.counter, None, None, 0),
            TallyEvent::Fired(f) => {
                move_amounts.push(f.amount);
                move_commands.push(f.command_id.clone());
                push_position(&mut moves, &f.counter, e);
                (&f.counter, None, None, 0)
            }
            TallyEvent::Exported(x) => {
                move_amounts.push(-x.amount);
                move_commands.push(x.command_id.clone());
                push_position(&mut moves, &x.counter, e);
                (&x.counter, None, None, 0)
            }
        };
        rows.total.push(total);
        rows.bumps.push(bumps);
        rows.deposits.push(deposits);
        push_position(&mut rows, counter, e);
    }

    fn push_position(columns: &mut Columns, counter: &str, e: &Envelope<TallyEvent>) {
        columns.counter.push(counter.to_string());
        columns.topic.push(e.topic.clone());
        columns.partition.push(e.partition);
        columns.offset.push(e.offset);
        columns.event_id.push(e.event_id.clone());
        columns.event_at.push(e.event_at);
    }

    if !moves.counter.is_empty() {
        sqlx::query(
                "INSERT INTO movements (source_topic, source_partition, source_offset, event_id, counter, amount, command_id, event_at)
                 SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::uuid[], $5::text[], $6::bigint[], $7::text[], $8::timestamptz[])",
            )
            .bind(&moves.topic)
            .bind(&moves.partition)
            .bind(&moves.offset)
            .bind(&moves.event_id)
            .bind(&moves.counter)
            .bind(&move_amounts)
            .bind(&move_commands)
            .bind(&moves.event_at)
            .execute(&mut *tx)
            .await?;
    }
    // Per counter: the latest total and bumps in the batch, the number of deposits, and the
    // position of its last event; then one upsert.
    sqlx::query(
            "WITH e AS (
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::bigint[], $8::uuid[], $9::timestamptz[])
                          WITH ORDINALITY AS e(counter, total, bumps, deposits, topic, partition, off, event_id, event_at, n)
             ), per_counter AS (
                 SELECT counter,
                        (array_agg(total ORDER BY n DESC) FILTER (WHERE total IS NOT NULL))[1] AS total,
                        (array_agg(bumps ORDER BY n DESC) FILTER (WHERE bumps IS NOT NULL))[1] AS bumps,
                        sum(deposits) AS deposits,
                        (array_agg(n ORDER BY n DESC))[1] AS last
                   FROM e GROUP BY counter
             )
             INSERT INTO counters AS c (counter, total, bumps, deposits, source_topic, source_partition, source_offset, event_id, event_at)
             SELECT p.counter, coalesce(p.total, 0), coalesce(p.bumps, 0), p.deposits, e.topic, e.partition, e.off, e.event_id, e.event_at
               FROM per_counter p JOIN e ON e.n = p.last
             ON CONFLICT (counter) DO UPDATE SET
                 total = CASE WHEN (SELECT p.total FROM per_counter p WHERE p.counter = excluded.counter) IS NULL THEN c.total ELSE excluded.total END,
                 bumps = CASE WHEN (SELECT p.bumps FROM per_counter p WHERE p.counter = excluded.counter) IS NULL THEN c.bumps ELSE excluded.bumps END,
                 deposits = c.deposits + excluded.deposits,
                 source_topic = excluded.source_topic,
                 source_partition = excluded.source_partition,
                 source_offset = excluded.source_offset,
                 event_id = excluded.event_id,
                 event_at = excluded.event_at",
        )
        .bind(&rows.counter)
        .bind(&rows.total)
        .bind(&rows.bumps)
        .bind(&rows.deposits)
        .bind(&rows.topic)
        .bind(&rows.partition)
        .bind(&rows.offset)
        .bind(&rows.event_id)
        .bind(&rows.event_at)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
