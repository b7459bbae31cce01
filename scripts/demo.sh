#!/usr/bin/env bash
# The main job end to end on the built-in virtual card: installs what is
# missing, builds, puts the virtual card in a virtual reader behind pcscd,
# and runs dmboot against it as a technician would.
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

bash scripts/install-deps.sh
swift build --product dmboot 2>&1 | tail -n 1
swift build --product dmboot-sim 2>&1 | tail -n 1
DMBOOT="$(dmboot_bin)"
DMBOOT_SIM="$(dmboot_sim_bin)"

trap 'bash scripts/rig-stop.sh' EXIT
bash scripts/rig-start.sh

run() { echo; echo "\$ dmboot $*"; "$DMBOOT" "$@"; }
run readers
run card info --reader "Virtual PCD 00 00"
# The virtual card's keys, written 0600 where only this user can read them.
"$DMBOOT_SIM" --write-keys "$RIG_DIR/demo-keys.json" --force
run scp03 test --reader "Virtual PCD 00 00" --keys "$RIG_DIR/demo-keys.json"
# The main job: card in, DM account installed into a local tree, secrets redacted.
TREE="$RIG_DIR/demo-tree.sqlite"
rm -f "$TREE"
run provision --reader "Virtual PCD 00 00" --keys "$RIG_DIR/demo-keys.json" --tree "$TREE"
run tree show --tree "$TREE"
run provision --reader "Virtual PCD 00 00" --keys "$RIG_DIR/demo-keys.json" --tree "$TREE"
# Station mode: four more cards through the two "B" readers, a log line per card.
STATION_DIR="$RIG_DIR/demo-station"
rm -rf "$STATION_DIR" && mkdir -p "$STATION_DIR"
echo; echo "\$ dmboot station --readers 'Virtual PCD B' --keys ... --tree-dir $STATION_DIR/trees --json-log $STATION_DIR/station.jsonl --max-cards 4"
"$DMBOOT" station --readers "Virtual PCD B" --keys "$RIG_DIR/demo-keys.json" --tree-dir "$STATION_DIR/trees" \
    --json-log "$STATION_DIR/station.jsonl" --max-cards 4 &
STATION=$!
"$DMBOOT_SIM" --feed 4 --port 35965 --port 35966 >/dev/null
wait "$STATION"
head -n 1 "$STATION_DIR/station.jsonl"
