#!/usr/bin/env bash
# Stops exactly the processes rig-start.sh started (by their recorded pids).
source "$(dirname "$0")/lib.sh"

stop_pid_file() {
    local file="$1" name="$2" pid
    [ -f "$file" ] || return 0
    pid="$(cat "$file")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name (pid $pid) did not stop on SIGTERM; sending SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
        fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$file"
}

stop_pid_file "$RIG_DIR/card.pid" "virtual card"
stop_pid_file "$RIG_DIR/pcscd.pid" "pcscd"
