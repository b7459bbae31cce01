#!/usr/bin/env bash
# Starts a private PostgreSQL server for the results tests and benchmark:
# initdb (first time) and postgres, as the `postgres` user (PostgreSQL
# refuses to run as root), listening only on a unix socket in its own
# folder. Its state lives in $DMBOOT_PG_STATE (default .rig/postgres): the
# data folder's path, and the URL to connect with, printed on stdout and kept
# in url. Starting again reuses the data (a restart after pg-stop.sh).
#
# usage: scripts/pg-start.sh [--no-fsync] [--timeout SECONDS]
source "$(dirname "$0")/lib.sh"

PG_STATE="${DMBOOT_PG_STATE:-$RIG_DIR/postgres}"
fsync=on
timeout=30
while [ $# -gt 0 ]; do
    case "$1" in
        --no-fsync) fsync=off ;;
        --timeout) timeout="$2"; shift ;;
        *) die "unknown option $1 (usage: pg-start.sh [--no-fsync] [--timeout SECONDS])" ;;
    esac
    shift
done

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
[ -x "$bindir/postgres" ] || die "PostgreSQL is not installed; run scripts/install-deps.sh"
id postgres >/dev/null 2>&1 || die "there is no postgres user; run scripts/install-deps.sh"
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
    else
        "$@"
    fi
}

mkdir -p "$PG_STATE"
base="$(cat "$PG_STATE/base" 2>/dev/null || true)"
if [ -z "$base" ] || [ ! -d "$base/data" ]; then
    # Outside the worktree: the postgres user must reach it, whatever the
    # permissions of the folders above the checkout.
    base="$(mktemp -d "${TMPDIR:-/tmp}/dmboot-pg.XXXXXX")"
    chmod 0755 "$base"
    mkdir -m 0700 "$base/socket"
    [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$base" "$base/socket"
    as_postgres "$bindir/initdb" --pgdata="$base/data" --username=dmboot --auth=trust --encoding=UTF8 --locale=C \
        --no-sync >"$base/initdb.log" 2>&1 || die "initdb failed: $(tail -n5 "$base/initdb.log")"
    echo "$base" > "$PG_STATE/base"
    say "created a PostgreSQL cluster in $base/data"
fi

data="$base/data"
if as_postgres "$bindir/pg_ctl" status --pgdata="$data" >/dev/null 2>&1; then
    say "PostgreSQL (pid $(head -n1 "$data/postmaster.pid")) is running already"
else
    as_postgres "$bindir/pg_ctl" start --pgdata="$data" --log="$base/postgres.log" --wait --timeout="$timeout" \
        -o "-c listen_addresses='' -c unix_socket_directories='$base/socket' -c fsync=$fsync -c max_connections=60" \
        >/dev/null || die "PostgreSQL did not start; see $base/postgres.log"
    say "started PostgreSQL (pid $(head -n1 "$data/postmaster.pid")), log in $base/postgres.log"
fi

url="postgresql:///dmboot?host=$base/socket&user=dmboot"
if ! "$bindir/psql" -Atq "postgresql:///postgres?host=$base/socket&user=dmboot" \
        -c "SELECT 1 FROM pg_database WHERE datname = 'dmboot'" | grep -q 1; then
    "$bindir/createdb" --host="$base/socket" --username=dmboot dmboot
fi
echo "$url" > "$PG_STATE/url"
echo "$url"
