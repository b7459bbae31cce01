#!/usr/bin/env bash
# Benchmark (not a test) of the results database: records per second from 1,
# 2, 4 and 8 simulated stations writing at once into one PostgreSQL (each
# record as a station makes it: a claim before the install, the record after),
# the cost per card of recording a result (in the database, and in the spool
# while it is unreachable), beside the station's own time per card on the rig
# with and without --results. Prints figures; asserts nothing.
#
# usage: scripts/nsrun bash scripts/bench-results.sh [RECORDS_PER_WRITER] [CARDS]   (defaults 300, 40)
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
RECORDS="${1:-300}"
CARDS="${2:-40}"

bash scripts/install-deps.sh >/dev/null
swift build -c release --product dmboot 2>&1 | tail -n 1
swift build -c release --product dmboot-sim 2>&1 | tail -n 1
swift build -c release --product results-bench 2>&1 | tail -n 1
BIN="$(swift build -c release --show-bin-path)"
DMBOOT="$BIN/dmboot"
DMBOOT_SIM="$BIN/dmboot-sim"

WORK="$(mktemp -d)"
export DMBOOT_PG_STATE="$WORK/postgres"
trap 'bash scripts/rig-stop.sh; bash scripts/pg-stop.sh --remove; rm -rf "$WORK"' EXIT
# fsync on, as a database server would run.
URL="$(bash scripts/pg-start.sh 2>/dev/null)"

for writers in 1 2 4 8; do
    "$BIN/results-bench" "$URL" "$writers" "$RECORDS" >>"$WORK/writers.jsonl"
done
"$BIN/results-bench" "$URL" 1 "$RECORDS" --spool-only >"$WORK/spool.jsonl"

# The station on one reader of the rig: per-card time with the JSON log only,
# then with the results database as well.
bash scripts/rig-start.sh --no-card >/dev/null
"$DMBOOT_SIM" --write-keys "$WORK/keys.json" 2>/dev/null
for mode in log results; do
    run="$WORK/$mode"
    mkdir -p "$run"
    flags=()
    [ "$mode" = results ] && flags=(--results "$URL" --station-id bench)
    XDG_STATE_HOME="$run/state" "$DMBOOT" station --keys "$WORK/keys.json" --tree-dir "$run/trees" \
        --json-log "$run/log.jsonl" --readers 0 --max-cards "$CARDS" "${flags[@]}" >"$run/summary.txt" 2>"$run/station.err" &
    station=$!
    "$DMBOOT_SIM" --feed "$CARDS" --gap 0.2 --port 35963 >"$run/feed.jsonl" 2>"$run/feed.err"
    for _ in $(seq 100); do kill -0 "$station" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$station" 2>/dev/null || true
    wait "$station" || die "the station failed ($mode): see $run/station.err"
done

/usr/bin/python3 - "$WORK" "$RECORDS" "$CARDS" <<'PY'
import json, statistics, sys
work, records, cards = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

print(f"\nresults benchmark: {records} records per writer, PostgreSQL on a unix socket, fsync on, release build")
print(f"{'':>22}{'writers':>7} {'records':>8} {'wall s':>7} {'records/s':>10} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} {'failed':>6}")
rows = [json.loads(line) for line in open(f"{work}/writers.jsonl")]
rows += [dict(json.loads(open(f"{work}/spool.jsonl").read()), spool=True)]
for row in rows:
    label = "spool (db unreachable)" if row.get("spool") else "database"
    print(f"{label:>22}{row['writers']:>7} {row['records']:>8} {row['seconds']:>7.2f} {row['perSecond']:>10.0f} "
          f"{row['p50']:>7.2f} {row['p90']:>7.2f} {row['p99']:>7.2f} {row['max']:>7.2f} {row['failed']:>6}")

print(f"\nstation on one reader, {cards} cards: time per card in the log (the job, claim included)")
print(f"{'':>22}{'cards':>7} {'p50 ms':>7} {'p90 ms':>7} {'max ms':>7} {'failed':>6}")
for mode in ("log", "results"):
    log = [json.loads(line) for line in open(f"{work}/{mode}/log.jsonl")]
    ms = [line["milliseconds"] for line in log]
    failed = sum(1 for line in log if line["exitCode"] != 0)
    label = "--json-log only" if mode == "log" else "--json-log + --results"
    print(f"{label:>22}{len(log):>7} {percentile(ms, 50):>7.1f} {percentile(ms, 90):>7.1f} {max(ms):>7.1f} {failed:>6}")
one = rows[0]
print(f"\ncost per card of recording a result: p50 {one['p50']:.2f} ms in the database (one writer), "
      f"p50 {rows[-1]['p50']:.2f} ms in the spool")
PY
