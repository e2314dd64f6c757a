//! The domain-core figure: two-phase transfers through the pure ledger (decide/apply, no I/O,
//! one thread) against a hash-map ledger, measured by criterion. `make bench` runs this first;
//! `clio-bench` reads the estimates criterion writes (`ledger_core/<function>/new/`) into the
//! report.

use std::hint::black_box;
use std::time::Duration;

use clio_bench::{CoreLedger, HashMapLedger};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn ledger_core(c: &mut Criterion) {
    let mut group = c.benchmark_group("ledger_core");
    let mut ledger = CoreLedger::new();
    // Past the issuing transfers, so every measured transfer is between two accounts.
    while ledger.transfers() < clio_bench::ACCOUNTS {
        ledger.transfer();
    }
    let commands = ledger.transfer();
    // One element is one command: criterion prints commands/s.
    group.throughput(Throughput::Elements(commands as u64));
    group.bench_function("clio_transfer", |b| b.iter(|| black_box(ledger.transfer())));
    group.throughput(Throughput::Elements(1));
    let mut map = HashMapLedger::default();
    group.bench_function("hash_map_transfer", |b| b.iter(|| map.transfer()));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .sample_size(50);
    targets = ledger_core
}
criterion_main!(benches);
