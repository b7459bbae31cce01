#!/usr/bin/env bash
# Builds dmboot_<version>_amd64.deb from the self-contained release build
# (scripts/build-release.sh): dmboot and apdu-shell, their man pages, bash,
# zsh and fish completions, the station service template, its logrotate
# snippet, an example configuration and the exit-code list. Not dmboot-sim:
# the simulator and its demo keys stay on development machines.
# Depends: is what dpkg-shlibdeps reads off the binaries, plus libpq5 and
# libxml2 (dlopened by the commands that use them, so not in the binaries'
# needed libraries), pcscd (the daemon every card command talks to) and
# adduser (the service's user).
# usage: scripts/package-deb.sh [OUTPUT-DIR]       (default: .build/deb)
# Prints the path of the package.
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

out="$(mkdir -p "${1:-.build/deb}" && cd "${1:-.build/deb}" && pwd)"
# Every executable product a factory installs; a new one (a dashboard, say)
# is one more name here and its man page in man/.
executables=(dmboot apdu-shell)
bin="$(bash scripts/build-release.sh "${executables[@]}" | tail -1)"
version="$("$bin/dmboot" --version)"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "unexpected version \"$version\" from dmboot --version"
package="dmboot_${version}_amd64"
maintainer="${DEBFULLNAME:-dmboot maintainers} <${DEBEMAIL:-dmboot@example.org}>"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/$package"
doc="$root/usr/share/doc/dmboot"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" "$root/usr/share/man/man5" "$doc/examples" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d" "$root/lib/systemd/system" "$root/etc/logrotate.d"

for executable in "${executables[@]}"; do
    install -m 0755 "$bin/$executable" "$root/usr/bin/"
    # What dh_strip does: the symbols stay in the build, the package gets the code.
    strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/$executable"
    gzip -9n <"man/$executable.1" >"$root/usr/share/man/man1/$executable.1.gz"
    # Sourced by bash-completion, not run: no #! line.
    "$bin/$executable" --generate-completion-script bash | sed '1{/^#!/d}' >"$root/usr/share/bash-completion/completions/$executable"
    "$bin/$executable" --generate-completion-script zsh >"$root/usr/share/zsh/vendor-completions/_$executable"
    "$bin/$executable" --generate-completion-script fish >"$root/usr/share/fish/vendor_completions.d/$executable.fish"
done
for page in man/*.5; do
    gzip -9n <"$page" >"$root/usr/share/man/man5/$(basename "$page").gz"
done
install -m 0644 dist/dmboot-station@.service "$root/lib/systemd/system/"
install -m 0644 dist/dmboot-station.logrotate "$root/etc/logrotate.d/dmboot-station"
install -m 0644 dist/station.conf "$doc/examples/station.conf"
"$bin/dmboot" exit-codes >"$doc/exit-codes"
chmod 0644 "$doc/exit-codes" "$root"/usr/share/*/completions/* "$root"/usr/share/zsh/vendor-completions/* \
    "$root"/usr/share/fish/vendor_completions.d/*

epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: dmboot
Source: the dmboot repository

Files: *
Copyright: $(date -u +%Y -d "@$epoch") the dmboot authors
License: dmboot
 All rights reserved by the dmboot authors; distributed for use on the
 factory's own machines.
EOF
# A native package's changelog: this build's version and date.
date="$(date -R -u -d "@$epoch")"
cat <<EOF | gzip -9n >"$doc/changelog.gz"
dmboot ($version) unstable; urgency=medium

  * Release build $(git rev-parse --short HEAD) of the dmboot repository.

 -- $maintainer  $date
EOF
chmod 0644 "$doc/copyright" "$doc/changelog.gz"

# The service's user, made by the package (never removed: its files may outlive it).
cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd dmboot >/dev/null; then
        adduser --system --group --home /var/lib/dmboot --gecos "dmboot factory station" dmboot >/dev/null
    fi
    install -d -m 0750 -o root -g dmboot /etc/dmboot
fi
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = purge ]; then
    rmdir --ignore-fail-on-non-empty /etc/dmboot 2>/dev/null || true
fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"
echo "/etc/logrotate.d/dmboot-station" >"$root/DEBIAN/conffiles"

# Depends: the shared libraries the binaries link, as dpkg-shlibdeps names their packages.
mkdir -p "$work/shlibs/debian"
printf 'Source: dmboot\n\nPackage: dmboot\nArchitecture: amd64\n' >"$work/shlibs/debian/control"
shlibs="$(cd "$work/shlibs" && dpkg-shlibdeps -O "${executables[@]/#/-e$root/usr/bin/}" 2>/dev/null \
    | sed -n 's/^shlibs:Depends=//p')"
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no dependencies"
installed_size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat >"$root/DEBIAN/control" <<EOF
Package: dmboot
Version: $version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $shlibs, libpq5, libxml2, pcscd, adduser
Recommends: logrotate
Suggests: softhsm2, opensc-pkcs11
Section: utils
Priority: optional
Description: OMA DM bootstrap provisioning from smartcards
 dmboot reads the OMA DM bootstrap from a smartcard's PKCS#15 application
 over a GlobalPlatform SCP03 secure channel, through pcscd, and installs the
 DM accounts it describes into a DM tree. A factory station provisions every
 card inserted into its readers, as a systemd service
 (dmboot-station@NAME) configured in /etc/dmboot/station-NAME.conf.
 .
 apdu-shell sends APDUs and scripts to a card for debugging.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
# gzip, not xz: CI builds the package on every run, and xz took minutes of CPU for it.
dpkg-deb --root-owner-group -Zgzip --build "$root" "$out/$package.deb" >&2
echo "$out/$package.deb"
