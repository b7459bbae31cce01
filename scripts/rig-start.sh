#!/usr/bin/env bash
# Starts the virtual reader rig: pcscd with the vpcd driver (4 slots) and,
# unless --no-card, a virtual card in the first slot. Waits, with a bound,
# until pcscd shows the readers (and the card). Records the pids it started in
# $DMBOOT_RIG_DIR (default .rig/) so that rig-stop.sh stops exactly those.
#
# usage: scripts/rig-start.sh [--no-card] [--profile FILE] [--timeout SECONDS]
source "$(dirname "$0")/lib.sh"

with_card=1
profile=""
timeout=15
while [ $# -gt 0 ]; do
    case "$1" in
        --no-card) with_card=0 ;;
        --profile) profile="$2"; shift ;;
        --timeout) timeout="$2"; shift ;;
        *) die "unknown option $1 (usage: rig-start.sh [--no-card] [--profile FILE] [--timeout SECONDS])" ;;
    esac
    shift
done

command -v pcscd >/dev/null || die "pcscd is not installed; run scripts/install-deps.sh"
[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || die "the vpcd driver is not installed; run scripts/install-deps.sh"
mkdir -p "$RIG_DIR/reader.conf.d"
DMBOOT="$(dmboot_bin)"
DMBOOT_SIM="$(dmboot_sim_bin)"

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
ours_pcscd="$(cat "$RIG_DIR/pcscd.pid" 2>/dev/null || true)"
# Only a pcscd in this mount namespace shares our /run/pcscd socket; daemons of
# other namespaces (parallel test runs under unshare) are no concern.
same_namespace() { [ "$(readlink "/proc/$1/ns/mnt" 2>/dev/null)" = "$(readlink /proc/self/ns/mnt)" ]; }
foreign_pcscd=""
for pid in $(pgrep -x pcscd | grep -vx "${ours_pcscd:-none}" || true); do
    if same_namespace "$pid"; then foreign_pcscd="$pid"; break; fi
done

if alive "$ours_pcscd"; then
    say "pcscd (pid $ours_pcscd) from an earlier rig-start is running; reusing it"
elif [ -n "$foreign_pcscd" ]; then
    # pcscd 1.9.9 has one fixed socket (/run/pcscd/pcscd.comm): a second
    # daemon cannot run beside it. Use it if it serves the vpcd driver.
    ss -ltn "sport = :35963" | grep -q LISTEN \
        || die "a pcscd not started by this rig is running (pid $foreign_pcscd) without the vpcd driver on port 35963; stop it, or add /etc/reader.conf.d/vpcd to it"
    say "using the running pcscd (pid $foreign_pcscd) and its vpcd reader"
else
    if [ -e /run/pcscd/pcscd.comm ]; then
        say "removing the stale pcscd socket left by a daemon that is gone"
        rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
    fi
    for port in 35963 35964 35965 35966; do
        if ss -ltn "sport = :$port" | grep -q LISTEN; then
            die "TCP port $port, needed by the vpcd driver, is taken by another program: $(ss -ltnp "sport = :$port" | tail -n +2)"
        fi
    done
    # Two vpcd entries of two slots each: four readers on ports 35963-35966,
    # "Virtual PCD 00 00", "Virtual PCD 00 01", "Virtual PCD B 00 00" and
    # "Virtual PCD B 00 01". vpcd keeps its slots in driver globals, so the
    # second entry must load its own copy of the driver, or it takes over the
    # first entry's slots and port 35963 is never polled.
    mkdir -p "$RIG_DIR/drivers"
    cp /usr/lib/pcsc/drivers/serial/libifdvpcd.so "$RIG_DIR/drivers/libifdvpcd-b.so"
    cat > "$RIG_DIR/reader.conf.d/vpcd" <<CONF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    0x8C7B

FRIENDLYNAME "Virtual PCD B"
DEVICENAME   /dev/null:0x8C7D
LIBPATH      $RIG_DIR/drivers/libifdvpcd-b.so
CHANNELID    0x8C7D
CONF
    pcscd --foreground --config "$RIG_DIR/reader.conf.d" > "$RIG_DIR/pcscd.log" 2>&1 &
    echo $! > "$RIG_DIR/pcscd.pid"
    say "started pcscd (pid $!), log in $RIG_DIR/pcscd.log"
fi

# Wait until pcscd answers and lists the virtual readers.
deadline=$((SECONDS + timeout))
until "$DMBOOT" readers --json 2>/dev/null | grep -q '"Virtual PCD'; do
    [ $SECONDS -lt $deadline ] || die "pcscd did not show the virtual readers within ${timeout}s; see $RIG_DIR/pcscd.log"
    sleep 0.2
done

old="$(cat "$RIG_DIR/card.pid" 2>/dev/null || true)"
if alive "$old"; then
    say "pulling the virtual card of an earlier rig-start (pid $old)"
    kill "$old"
    while alive "$old"; do sleep 0.1; done
    rm -f "$RIG_DIR/card.pid"
fi

if [ "$with_card" -eq 1 ]; then
    args=(--port 35963)
    [ -n "$profile" ] && args+=(--profile "$profile")
    "$DMBOOT_SIM" "${args[@]}" > "$RIG_DIR/card.log" 2>&1 &
    echo $! > "$RIG_DIR/card.pid"
    until "$DMBOOT" readers --json 2>/dev/null | grep -q '"cardPresent" : true'; do
        alive "$(cat "$RIG_DIR/card.pid")" || die "the virtual card stopped: $(cat "$RIG_DIR/card.log")"
        [ $SECONDS -lt $deadline ] || die "the virtual card did not show in a reader within ${timeout}s; see $RIG_DIR/card.log"
        sleep 0.1
    done
    say "virtual card (pid $(cat "$RIG_DIR/card.pid")) is in reader \"Virtual PCD 00 00\""
fi
