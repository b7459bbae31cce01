#!/usr/bin/env bash
# The Debian package, as a factory PC gets it: builds it (scripts/package-deb.sh),
# checks it with lintian, installs it with dpkg, and runs the installed
# binaries with the Swift toolchain hidden (an empty tmpfs over /opt/swift in a
# mount namespace of their own): --version, readers, a provision from a
# virtual card, and the station service's own command line (ExecStart of
# dmboot-station@.service) with the example configuration, as the unit's user.
# Then removes and purges the package. Needs root and the rig (pcscd with
# vpcd, scripts/rig-start.sh); scripts/test.sh runs it when DMBOOT_PACKAGE is
# set (.ci/run sets it).
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
[ "$(id -u)" -eq 0 ] || die "needs root (dpkg -i, a mount namespace)"

toolchain="$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")"
started=$SECONDS
deb="$(bash scripts/package-deb.sh)"
say "built $(basename "$deb") in $((SECONDS - started)) s"

lintian --fail-on error,warning "$deb" >&2 || die "lintian: see above"
depends="$(dpkg-deb -f "$deb" Depends)"
for package in pcscd libpcsclite1 libssl3 libsqlite3-0 libpq5 libxml2 libedit2 libc6; do
    [[ ", $depends," == *", $package "* || ", $depends," == *", $package,"* ]] || die "Depends lacks $package: $depends"
done
# (grep reads whole outputs here: grep -q would close a pipe early, and pipefail would count it against the writer.)
[[ "$(dpkg-deb -c "$deb")" != *dmboot-sim* ]] || die "the package holds the simulator"

work="$(mktemp -d)"
chmod 0755 "$work"
sim_pid=""
cleanup() {
    [ -z "$sim_pid" ] || { kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null || true; }
    rm -f /etc/dmboot/station-debtest.conf
    flock /tmp/apt.lock dpkg --purge dmboot >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
flock /tmp/apt.lock dpkg -i "$deb" >&2

# The installed binary with the toolchain's folder empty: it must start on its own.
hidden() {
    unshare --mount bash -c 'mount -t tmpfs -o size=1m,mode=0755 tmpfs "$0" && exec "$@"' "$toolchain" "$@"
}
hidden bash -c '[ -z "$(ls -A "$0")" ]' "$toolchain" || die "the toolchain is not hidden"
if hidden ldd /usr/bin/dmboot /usr/bin/apdu-shell | grep -E 'not found|swift'; then die "a library is missing"; fi
# libpq and libxml2 are loaded by the commands that use them, not at start:
# with libpq unreadable, --version runs and the results database says which package is missing (140).
if readelf -d /usr/bin/dmboot | grep -E 'NEEDED.*(libpq|libxml2)'; then die "dmboot links libpq or libxml2 at start"; fi
status=0
unshare --mount bash -c 'mount --bind /dev/null "$(readlink -f /usr/lib/x86_64-linux-gnu/libpq.so.5)" \
    && /usr/bin/dmboot --version >/dev/null && exec /usr/bin/dmboot results list --results postgresql://nobody@127.0.0.1:1/none' \
    >/dev/null 2>"$work/nolibpq.err" || status=$?
[ "$status" -eq 140 ] && grep -q "libpq5" "$work/nolibpq.err" || die "without libpq: exit $status, $(cat "$work/nolibpq.err")"
[ "$(hidden /usr/bin/dmboot --version)" = "$(dpkg-deb -f "$deb" Version)" ] || die "dmboot --version"
hidden /usr/bin/apdu-shell --version >/dev/null || die "apdu-shell --version"

# A virtual card in the second slot, served by the development build (it needs the toolchain).
"$(dmboot_sim_bin)" --write-keys "$work/keys.json"
"$(dmboot_sim_bin)" --port 35964 >"$work/sim.log" 2>&1 &
sim_pid=$!
reader="Virtual PCD 00 01"
deadline=$((SECONDS + 30))
until [[ "$(hidden /usr/bin/dmboot readers 2>/dev/null)" == *"] $reader  card "* ]]; do
    [ $SECONDS -lt $deadline ] || die "the virtual card did not show in \"$reader\": $(cat "$work/sim.log")"
    sleep 0.2
done
hidden /usr/bin/dmboot provision --reader "$reader" --keys "$work/keys.json" --tree "$work/tree.sqlite" >&2
[[ "$(hidden /usr/bin/dmboot tree show --tree "$work/tree.sqlite")" == *"ServerID"* ]] || die "the provisioned tree has no account"

# The unit's command line, with the example configuration pointed at this test's folders.
unit=/lib/systemd/system/dmboot-station@.service
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify --man=no dmboot-station@debtest.service >&2 || die "systemd-analyze verify $unit"
fi
install -d -o dmboot -g dmboot -m 0700 "$work/station"
install -o dmboot -g dmboot -m 0600 "$work/keys.json" "$work/station/keys.json"
sed -e "s|^keys = .*|keys = $work/station/keys.json|" -e "s|^tree-dir = .*|tree-dir = $work/station/trees|" \
    -e "s|^json-log = .*|json-log = $work/station/station.jsonl|" -e "s|^readers = .*|readers = $reader|" \
    -e "s|^# once$|once|" -e "s|^# summary = .*|summary = $work/station/summary.json|" \
    /usr/share/doc/dmboot/examples/station.conf >/etc/dmboot/station-debtest.conf
exec_start="$(sed -n 's/^ExecStart=//p' "$unit" | sed 's/%i/debtest/g')"
user="$(sed -n 's/^User=//p' "$unit")"
# shellcheck disable=SC2086 # the unit's command line, split as systemd splits it (no quoting in it)
hidden setpriv --reuid "$user" --regid "$user" --init-groups --no-new-privs $exec_start >&2 \
    || die "the unit's command line failed: $exec_start"
grep -q '"provisioned" : 1' "$work/station/summary.json" || die "the station did not provision: $(cat "$work/station/summary.json")"
[ "$(stat -c %U "$work/station/station.jsonl")" = "$user" ] || die "the station log is not the unit user's"

flock /tmp/apt.lock dpkg -r dmboot >&2
[ ! -e /usr/bin/dmboot ] || die "dpkg -r left /usr/bin/dmboot"
[ -e /etc/logrotate.d/dmboot-station ] || die "dpkg -r removed a conffile"
flock /tmp/apt.lock dpkg --purge dmboot >&2
[ ! -e /etc/logrotate.d/dmboot-station ] || die "dpkg --purge left the logrotate snippet"
say "the package builds, is lintian-clean, installs, runs without the toolchain and removes cleanly ($((SECONDS - started)) s)"
