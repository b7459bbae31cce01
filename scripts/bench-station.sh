#!/usr/bin/env bash
# Benchmark (not a test) of station mode: feeds CARDS virtual cards through
# 1, 2 and 4 readers of the rig and prints cards per second, per-card
# provisioning latency percentiles and APDUs per card, from the station's own
# JSON log. Usage: scripts/bench-station.sh [CARDS] (default 200).
#
# The peer, measured in the same run on one reader: the loop a factory writes
# by hand around a one-card tool (`dmboot provision --wait`, then poll
# `dmboot readers` until the card is gone), which is what GlobalPlatformPro,
# pySim and OpenSC leave to their users.
#
# Each swap costs pcscd's vpcd polling (a card is seen up to 400 ms after it is
# inserted or pulled) plus the feeder's gap after a removal; the per-card
# provisioning latency is the host's work alone.
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
CARDS="${1:-200}"
GAP="${BENCH_GAP:-0.5}"

bash scripts/install-deps.sh >/dev/null
swift build -c release --product dmboot 2>&1 | tail -n 1
swift build -c release --product dmboot-sim 2>&1 | tail -n 1
DMBOOT="$(swift build -c release --show-bin-path)/dmboot"
DMBOOT_SIM="$(swift build -c release --show-bin-path)/dmboot-sim"
trap 'bash scripts/rig-stop.sh' EXIT
bash scripts/rig-start.sh --no-card >/dev/null

WORK="$(mktemp -d)"
"$DMBOOT_SIM" --write-keys "$WORK/keys.json" 2>/dev/null
PORTS=(35963 35964 35965 35966)

for readers in 1 2 4; do
    run="$WORK/r$readers"
    mkdir -p "$run"
    port_flags=()
    for port in "${PORTS[@]:0:$readers}"; do port_flags+=(--port "$port"); done
    start=$(date +%s.%N)
    "$DMBOOT" station --keys "$WORK/keys.json" --tree-dir "$run/trees" --json-log "$run/log.jsonl" \
        --max-cards "$CARDS" >"$run/summary.txt" 2>"$run/station.err" &
    station=$!
    "$DMBOOT_SIM" --feed "$CARDS" --gap "$GAP" "${port_flags[@]}" >"$run/feed.jsonl" 2>"$run/feed.err"
    end=$(date +%s.%N)
    # A card the station missed would keep it waiting for ever: give it 10 s, then stop it.
    for _ in $(seq 100); do kill -0 "$station" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$station" 2>/dev/null || true
    wait "$station" || die "the station failed with $readers reader(s): see $run/station.err"
    echo "$readers $start $end" >"$run/wall"
done

peer="$WORK/peer"
mkdir -p "$peer/trees" "$peer/reports"
reader="Virtual PCD 00 00"
start=$(date +%s.%N)
"$DMBOOT_SIM" --feed "$CARDS" --gap "$GAP" --port 35963 >"$peer/feed.jsonl" 2>"$peer/feed.err" &
feeder=$!
for card in $(seq "$CARDS"); do
    "$DMBOOT" provision --reader "$reader" --wait 30 --keys "$WORK/keys.json" --tree "$peer/trees/$card.sqlite" \
        --json >"$peer/reports/$card.json" 2>>"$peer/provision.err" || true
    while "$DMBOOT" readers --json | /usr/bin/python3 -c 'import json,sys; sys.exit(0 if any(r["name"] == sys.argv[1] and r["cardPresent"] for r in json.load(sys.stdin)["readers"]) else 1)' "$reader"; do
        sleep 0.1
    done
done
wait "$feeder"
end=$(date +%s.%N)
echo "1 $start $end" >"$peer/wall"

/usr/bin/python3 - "$WORK" "$CARDS" "$GAP" <<'EOF'
import glob, json, os, statistics, sys
work, cards, gap = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

print(f"\nstation benchmark: {cards} virtual cards, feeder gap {gap} s, release build")
print(f"{'':>14}{'readers':>7} {'wall s':>7} {'cards/s':>8} {'speed-up':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} "
      f"{'APDUs/card':>10} {'in reader s':>11} {'failed':>6}")
base = None
for readers in (1, 2, 4):
    run = f"{work}/r{readers}"
    log = [json.loads(line) for line in open(f"{run}/log.jsonl")]
    feed = [json.loads(line) for line in open(f"{run}/feed.jsonl")]
    _, start, end = open(f"{run}/wall").read().split()
    wall = float(end) - float(start)
    rate = len(log) / wall
    base = base or rate
    latency = [entry["milliseconds"] for entry in log]
    apdus = sorted({entry["apduCount"] for entry in log if entry["apduCount"] is not None})
    in_reader = statistics.median(card["secondsInReader"] for card in feed)
    failed = sum(1 for entry in log if entry["exitCode"] != 0)
    print(f"{'station':>14}{readers:>7} {wall:>7.1f} {rate:>8.2f} {rate / base:>7.2f}x {percentile(latency, 50):>7.1f} "
          f"{percentile(latency, 90):>7.1f} {percentile(latency, 99):>7.1f} {max(latency):>7.1f} "
          f"{'/'.join(map(str, apdus)):>10} {in_reader:>11.3f} {failed:>6}")
peer_wall = [float(x) for x in open(f"{work}/peer/wall").read().split()[1:]]
peer_log = [json.load(open(path)) for path in glob.glob(f"{work}/peer/reports/*.json") if os.path.getsize(path)]
peer_rate = len(peer_log) / (peer_wall[1] - peer_wall[0])
peer_ms = [entry["milliseconds"] for entry in peer_log if "milliseconds" in entry]
print(f"{'peer loop':>14}{1:>7} {peer_wall[1] - peer_wall[0]:>7.1f} {peer_rate:>8.2f} {peer_rate / base:>7.2f}x "
      + (f"{percentile(peer_ms, 50):>7.1f} {percentile(peer_ms, 90):>7.1f} {percentile(peer_ms, 99):>7.1f} {max(peer_ms):>7.1f}" if peer_ms else ""))
print("\npeer loop: `dmboot provision --wait` per card, then `dmboot readers` polled every 0.1 s until the card is gone;")
print("its latency is the provision's own figure (connect to commit), process start-up not included.")
print("\np50..max: provisioning latency per card (connect to tree committed), from the station's JSON log;")
print("in reader: median seconds from insertion to pull, mostly pcscd's 400 ms polling of vpcd slots.")
EOF
rm -rf "$WORK"
