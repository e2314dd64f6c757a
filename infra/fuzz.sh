#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for SECONDS each: a few in `make test`, minutes in `make fuzz`.
# cargo-fuzz (installed when missing) on the stable toolchain, hence `--sanitizer none` (the
# sanitizers need nightly): a panic is what it finds. A crash fails the run, prints libFuzzer's
# report and leaves the input in fuzz/artifacts/<target>/; the corpus grows in fuzz/corpus/.
#   fuzz.sh SECONDS
source "$(dirname "$0")/lib.sh"

seconds=${1:?seconds per target}
if ! command -v cargo-fuzz >/dev/null; then
  say "installing cargo-fuzz"
  cargo install --quiet --locked cargo-fuzz >&2
fi
cd "$(dirname "$0")/../fuzz"
# Instrumented builds apart from the workspace's own.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../target}/fuzz"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $(cargo fuzz list); do
  say "fuzzing $target for $seconds s"
  if ! cargo fuzz run --sanitizer none "$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    die "fuzz target $target crashed; the input is in fuzz/artifacts/$target/"
  fi
  grep -E "^Done [0-9]+ runs|stat::new_units_added" "$log" | sed "s/^/    /" >&2 || true
done
