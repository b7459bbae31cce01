#!/usr/bin/env bash
# Kill campaign (issue 25 item 2; a measurement, not a test): dmboot-sim
# --feed puts CARDS virtual cards through the rig's readers while a station
# with a PostgreSQL results database is SIGKILLed at random moments, KILLS
# times at most, and started again each time. Then it compares what was
# installed on the card side (a tree in --tree-dir) with the records, and
# prints the columns that must all be zero: cards lost (a tree and no
# successful record), duplicated (more than one successful record),
# successful records without a tree, and records without an identity for a
# card that was read.
#
# usage: scripts/nsrun bash scripts/kill-campaign.sh [CARDS] [KILLS]
#   (defaults 1000 and 300). CAMPAIGN_SLOTS (default 4) readers are fed;
#   CAMPAIGN_SEED fixes the kill times; CAMPAIGN_MAX_LIFE (default 2.0) is the
#   longest a station lives, in seconds, before its kill. Exits 1 when a
#   column is not zero. Everything lives in a fresh folder it prints.
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
CARDS="${1:-1000}"
KILLS="${2:-300}"
SLOTS="${CAMPAIGN_SLOTS:-4}"
SEED="${CAMPAIGN_SEED:-$$}"
MAX_LIFE="${CAMPAIGN_MAX_LIFE:-2.0}"

WORK="$(mktemp -d /tmp/kill-campaign.XXXXXX)"
# Copies: a rebuild of the checkout during the campaign must not change the binaries under it.
cp "$(dmboot_bin)" "$WORK/dmboot"
cp "$(dmboot_sim_bin)" "$WORK/dmboot-sim"
DMBOOT="$WORK/dmboot"
DMBOOT_SIM="$WORK/dmboot-sim"
# A rig and a database of its own, beside nobody else's.
export DMBOOT_RIG_DIR="$WORK/rig" DMBOOT_PG_STATE="$WORK/postgres"
export XDG_STATE_HOME="$WORK/state" DMBOOT_RESULTS=""
station=""
feeder=""
cleanup() {
    [ -n "$station" ] && kill -KILL "$station" 2>/dev/null
    [ -n "$feeder" ] && kill -KILL "$feeder" 2>/dev/null
    bash scripts/rig-stop.sh >/dev/null 2>&1 || true
    bash scripts/pg-stop.sh --remove >/dev/null 2>&1 || true
}
trap cleanup EXIT
bash scripts/rig-start.sh --no-card >/dev/null
URL="$(bash scripts/pg-start.sh)"
"$DMBOOT_SIM" --write-keys "$WORK/keys.json" 2>/dev/null
say "work folder $WORK, seed $SEED"

ports=()
for slot in $(seq 0 $((SLOTS - 1))); do ports+=(--port $((35963 + slot))); done
"$DMBOOT_SIM" --feed "$CARDS" --gap 0.1 --untouched-timeout 20 "${ports[@]}" >"$WORK/feed.jsonl" 2>"$WORK/feed.err" &
feeder=$!

start_station() {
    "$DMBOOT" station --keys "$WORK/keys.json" --tree-dir "$WORK/trees" --json-log "$WORK/log.jsonl" --results "$URL" \
        --station-id campaign --max-consecutive-failures 0 >>"$WORK/station.out" 2>>"$WORK/station.err" &
    station=$!
}

RANDOM="$SEED"
kills=0
while kill -0 "$feeder" 2>/dev/null && [ "$kills" -lt "$KILLS" ]; do
    start_station
    sleep "$(awk -v r="$RANDOM" -v max="$MAX_LIFE" 'BEGIN { printf "%.3f", 0.05 + (max - 0.05) * r / 32767 }')"
    kill -KILL "$station" 2>/dev/null && kills=$((kills + 1))
    wait "$station" 2>/dev/null || true
    station=""
done
# No more kills: a last station takes the rest of the cards, and stops cleanly once the feeder is done.
start_station
wait "$feeder" || true
feeder=""
sleep 2
kill -TERM "$station" 2>/dev/null || true
wait "$station" || true
station=""
"$DMBOOT" results flush --results "$URL" --json >"$WORK/flush.json" 2>>"$WORK/station.err" || true
"$DMBOOT" results list --results "$URL" --json >"$WORK/records.json"

/usr/bin/python3 - "$WORK" "$CARDS" "$kills" <<'EOF'
import collections, glob, json, os, sys
work, cards, kills = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fed = [json.loads(line) for line in open(f"{work}/feed.jsonl") if line.strip()]
used = sum(1 for card in fed if card.get("outcome") == "used")
trees = {os.path.basename(path)[:-len(".sqlite")].replace("-", ":", 1)
         for path in glob.glob(f"{work}/trees/*.sqlite")}
records = json.load(open(f"{work}/records.json"))
successes = collections.Counter(r["cardIdentity"] for r in records if r["outcome"] in ("provisioned", "unchanged"))
lost = sorted(trees - set(successes))
duplicated = sorted(identity for identity, count in successes.items() if count > 1)
phantom = sorted(set(successes) - trees)
anonymous = [r for r in records if not r.get("cardIdentity")]
# A record without identity is a defect unless the card left before it could be read: a card pulled right after
# the reset (the feeder pulls a card once a host reset it, a card a killed station had left too) or before the
# connection (noCard) has none to give.
read_anonymous = [r for r in anonymous if r.get("failureClass") not in ("cardRemoved", "noCard")]
leftover = {
    "intents": len(glob.glob(f"{work}/state/dmboot/spool/*.intent")),
    "spooled": len(glob.glob(f"{work}/state/dmboot/spool/*.json")),
    "stale builds": len(glob.glob(f"{work}/trees/*.new-*")),
}
outcomes = collections.Counter(r.get("failureClass") or r["outcome"] for r in records)
print(f"kill campaign: {cards} cards fed ({used} used by the host), {kills} SIGKILLs of the station")
print(f"  installed card-side (a tree): {len(trees)}; records: {len(records)} ({dict(sorted(outcomes.items()))})")
print(f"  lost (tree, no successful record):       {len(lost)} {lost[:5]}")
print(f"  duplicated (>1 successful record):       {len(duplicated)} {duplicated[:5]}")
print(f"  successful record without a tree:        {len(phantom)} {phantom[:5]}")
print(f"  without identity (not a pulled card):    {len(read_anonymous)} "
      f"{dict(collections.Counter(r['failureClass'] for r in read_anonymous))}")
print(f"  without identity, pulled before read:    {len(anonymous) - len(read_anonymous)}")
print(f"  left behind: {leftover}")
sys.exit(1 if lost or duplicated or phantom or read_anonymous or any(leftover.values()) else 0)
EOF
