#!/usr/bin/env bash
# Where the time of one benchmark figure goes (`make profile FIGURE=...`):
#   core      instructions per function of the ledger core (valgrind's callgrind: exact counts,
#             the same on a busy machine), 20,000 transfers;
#   ledger    CPU samples of the whole machine with call graphs (perf, software clock) during
#             the end-to-end ledger run: the broker, Postgres, and clio-bench (processor,
#             projector and the bench's driver), by process and by function;
#   restore   the same for a processor restoring the accounts of the restore figure;
#   apply     the same for projection apply and its raw COPY (Postgres alone);
#   retry     the same for the retry figures (tasks against the sandbox, the job queue, memory).
# ledger and restore need the benchmark stack: run under infra/bench-stack.sh (make does).
source "$(dirname "$0")/lib.sh"

figure=${1:?usage: profile.sh core|ledger|restore|apply|retry}
bench="${CARGO_TARGET_DIR:-$ROOT/target}/release/clio-bench"
[ -x "$bench" ] || die "build it first: cargo build --release -p clio-bench"
out="$DATA/profile-$figure"
case "$figure" in
  core)
    command -v valgrind >/dev/null || apt_install valgrind
    valgrind --tool=callgrind --callgrind-out-file="$out.callgrind" "$bench" --core-only --events 20000
    callgrind_annotate --inclusive=no "$out.callgrind" | sed -n 1,40p
    say "whole profile: callgrind_annotate $out.callgrind"
    ;;
  ledger|restore|apply|retry)
    command -v perf >/dev/null || apt_install linux-perf
    # The whole machine: the broker and Postgres do much of the work, in their own processes.
    perf record -a -e cpu-clock -F 199 -g -o "$out.perf" -- "$bench" --only "$figure"
    say "CPU by process"
    perf report -i "$out.perf" --no-children --sort comm -g none --percent-limit 1 --stdio 2>/dev/null | grep -v '^#' | grep -v '^$'
    say "CPU by process and function"
    perf report -i "$out.perf" --no-children --sort comm,dso,symbol -g none --percent-limit 0.7 --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | sed -n 1,45p
    say "whole profile: perf report -i $out.perf"
    ;;
  *) die "unknown figure $figure (core, ledger, restore, apply or retry)" ;;
esac
