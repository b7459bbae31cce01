#!/usr/bin/env bash
# Builds the self-contained release binaries (scripts/build-release.sh) and
# installs dmboot, apdu-shell, dmboot-dashboard (the web server of `dmboot dashboard`
# and `station --metrics`, beside dmboot) and their man pages; the Debian package
# (scripts/package-deb.sh) is the other way, with the service and completions.
# Not dmboot-sim: the card simulator and its demo keys stay on development
# machines (swift build --product dmboot-sim).
# usage: scripts/install.sh [PREFIX]      (default /usr/local)
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
prefix="${1:-/usr/local}"

bash scripts/install-deps.sh
bin="$(bash scripts/build-release.sh dmboot apdu-shell dmboot-dashboard | tail -1)"
install -d "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/man/man5"
install -m 0755 "$bin/dmboot" "$bin/apdu-shell" "$bin/dmboot-dashboard" "$prefix/bin/"
install -m 0644 man/dmboot.1 man/apdu-shell.1 "$prefix/share/man/man1/"
install -m 0644 man/*.5 "$prefix/share/man/man5/"
say "installed dmboot, apdu-shell and dmboot-dashboard in $prefix/bin, man pages in $prefix/share/man (man dmboot)"
