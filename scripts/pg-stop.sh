#!/usr/bin/env bash
# Stops the PostgreSQL server pg-start.sh started (by its data folder, so
# exactly that one). --immediate stops it the way a crash would (no
# checkpoint; the next start recovers); --remove also deletes its data.
#
# usage: scripts/pg-stop.sh [--immediate] [--remove]
source "$(dirname "$0")/lib.sh"

PG_STATE="${DMBOOT_PG_STATE:-$RIG_DIR/postgres}"
mode=fast
remove=0
while [ $# -gt 0 ]; do
    case "$1" in
        --immediate) mode=immediate ;;
        --remove) remove=1 ;;
        *) die "unknown option $1 (usage: pg-stop.sh [--immediate] [--remove])" ;;
    esac
    shift
done

base="$(cat "$PG_STATE/base" 2>/dev/null || true)"
[ -n "$base" ] || exit 0
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
    else
        "$@"
    fi
}
if [ -f "$base/data/postmaster.pid" ] && as_postgres "$bindir/pg_ctl" status --pgdata="$base/data" >/dev/null 2>&1; then
    pid="$(head -n1 "$base/data/postmaster.pid")"
    as_postgres "$bindir/pg_ctl" stop --pgdata="$base/data" --mode="$mode" --wait >/dev/null
    say "stopped PostgreSQL (pid $pid, $mode)"
fi
if [ "$remove" -eq 1 ]; then
    case "$base" in
        */dmboot-pg.*) rm -rf "$base" ;;
        *) die "refusing to remove $base: not a folder pg-start.sh made" ;;
    esac
    rm -f "$PG_STATE/base" "$PG_STATE/url"
fi
