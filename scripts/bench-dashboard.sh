#!/usr/bin/env bash
# Benchmark (not a test) of the dashboard's queries: 1,000,000 card records
# generated in PostgreSQL (8 stations, 40 days, 200 batches, a realistic mix
# of successes, duplicates and failures), then GET /api/v1/overview through
# dmboot-dashboard, with PostgreSQL's auto_explain logging every statement the
# dashboard ran with its plan (EXPLAIN ANALYZE) and its time. Prints figures;
# asserts nothing. The issue's bar: each query under 50 ms.
#
# usage: scripts/nsrun bash scripts/bench-dashboard.sh [ROWS]   (default 1000000; DMBOOT_BIN=folder of the binaries)
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
ROWS="${1:-1000000}"

# The figures are PostgreSQL's own (auto_explain), whatever the build of the
# server in front: the debug build the tests use serves them.
# $DMBOOT_BIN names a folder already built (while tests hold the build folder).
if [ -z "${DMBOOT_BIN:-}" ]; then
    swift build --product dmboot 2>&1 | tail -n 1
    swift build --product dmboot-dashboard 2>&1 | tail -n 1
fi
BIN="${DMBOOT_BIN:-$(swift build --show-bin-path)}"

WORK="$(mktemp -d)"
export DMBOOT_PG_STATE="$WORK/postgres"
DASHBOARD=""
trap '[ -z "$DASHBOARD" ] || kill "$DASHBOARD" 2>/dev/null; bash scripts/pg-stop.sh --remove; rm -rf "$WORK"' EXIT
URL="$(bash scripts/pg-start.sh 2>/dev/null)"
LOG="$(cat "$DMBOOT_PG_STATE/base")/postgres.log"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$URL" "$@"; }

# The tables, as dmboot migrates them; then the rows, ending now.
"$BIN/dmboot" results list --results "$URL" --since 1s >/dev/null
started=$(date +%s.%N)
psql <<SQL
INSERT INTO dmboot.card_results (record_id, card_identity, pkcs15_serial, atr, station_id, run_id, reader, outcome,
    failure_class, exit_code, duration_ms, dmboot_version, started_at, batch, operator, error)
SELECT gen_random_uuid(),
       CASE WHEN kind = 'alreadyProvisioned' THEN 'pkcs15:' || lpad(to_hex(i - 1), 12, '0') ELSE 'pkcs15:' || lpad(to_hex(i), 12, '0') END,
       lpad(to_hex(i), 12, '0'), '3B8A80010031C173C8400000900090', 'line-' || (i % 8), ('00000000-0000-0000-0000-00000000000' || (i % 8))::uuid,
       'Virtual PCD 00 0' || (i % 4),
       CASE WHEN kind IN ('provisioned', 'alreadyProvisioned') THEN kind ELSE 'failed' END,
       CASE WHEN kind = 'provisioned' THEN NULL ELSE kind END,
       CASE kind WHEN 'provisioned' THEN 0 WHEN 'alreadyProvisioned' THEN 100 WHEN 'cardRemoved' THEN 7 ELSE 20 END,
       300 + (i % 700), 'bench', now() - ((${ROWS} - i) * (40 * 86400.0 / ${ROWS})) * interval '1 second',
       'B-' || (i * 200 / ${ROWS}), 'operator-' || (i % 3),
       CASE WHEN kind IN ('cardRemoved', 'cardNotAuthenticated') THEN 'generated failure' END
FROM (SELECT i, CASE WHEN i % 50 = 0 THEN 'cardRemoved' WHEN i % 97 = 0 THEN 'cardNotAuthenticated'
                     WHEN i % 41 = 0 THEN 'alreadyProvisioned' ELSE 'provisioned' END AS kind
      FROM generate_series(1, ${ROWS}) AS i) AS generated;
VACUUM ANALYZE dmboot.card_results;
SQL
say "generated $ROWS rows in $(printf '%.1f' "$(echo "$(date +%s.%N) - $started" | bc)") s; table $(psql -tAc "SELECT pg_size_pretty(pg_total_relation_size('dmboot.card_results'))")"

# Every statement of the dashboard's sessions, with its plan and time.
psql -c "LOAD 'auto_explain'" -c "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'" -c "ALTER SYSTEM SET auto_explain.log_min_duration = 0" \
     -c "ALTER SYSTEM SET auto_explain.log_analyze = on" -c "ALTER SYSTEM SET auto_explain.log_buffers = on" -c "SELECT pg_reload_conf()" >/dev/null

DMBOOT_RESULTS="$URL" "$BIN/dmboot-dashboard" serve --listen 127.0.0.1:0 >"$WORK/dashboard.out" 2>"$WORK/dashboard.err" &
DASHBOARD=$!
for _ in $(seq 100); do grep -q http "$WORK/dashboard.out" && break; sleep 0.1; done
PAGE="$(head -n1 "$WORK/dashboard.out")"
: >"$LOG.mark"; offset=$(stat -c %s "$LOG")
for round in 1 2 3 4 5; do
    curl -s -o "$WORK/overview.json" -w "GET /api/v1/overview round $round: %{time_total} s, %{size_download} bytes\n" \
        "${PAGE}api/v1/overview"
done
sleep 1
python3 - "$LOG" "$offset" <<'PY'
import re, sys
log, offset = sys.argv[1], int(sys.argv[2])
text = open(log, errors="replace").read()[offset:]
entries = re.split(r"\n(?=\S.*LOG:  duration: )", text)
plans = {}
for entry in entries:
    match = re.search(r"duration: ([0-9.]+) ms\s+plan:\n(.*)", entry, re.S)
    if not match or "dmboot." not in entry:
        continue
    query = re.search(r"Query Text: (.*?)\n\s*(?:\S.*\n)?", match.group(2), re.S)
    key = re.sub(r"\s+", " ", (query.group(1) if query else "?"))[:110]
    plans.setdefault(key, []).append((float(match.group(1)), match.group(2)))
print("\nper statement of the dashboard (5 rounds; worst time, then the plan of the worst):")
for key, runs in sorted(plans.items(), key=lambda kv: -max(r[0] for r in kv[1])):
    worst = max(runs)
    print("\n%7.2f ms  worst of %d  %s" % (worst[0], len(runs), key))
    for line in worst[1].splitlines():
        if re.search(r"(Scan|Aggregate|Sort|Limit|Index Cond|Filter|Rows Removed|Execution Time|Planning Time|Buffers)", line):
            print("           " + line.strip()[:150])
PY
