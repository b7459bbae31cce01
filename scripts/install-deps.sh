#!/usr/bin/env bash
# Installs the Debian 12 packages dmboot builds, tests and runs with.
# Idempotent: does nothing when everything is already there.
source "$(dirname "$0")/lib.sh"

PACKAGES=(
    pcscd                 # the PC/SC daemon
    vsmartcard-vpcd       # its virtual reader driver (the simulator plugs in here)
    libpcsclite-dev       # PC/SC client library and headers
    libssl-dev            # OpenSSL: every cryptographic primitive
    libsqlite3-dev        # the DM tree store
    libedit-dev           # line editing for apdu-shell
    pcsc-tools            # scriptor, pcsc_scan: independent clients for cross-checks
    opensc                # opensc-tool: another independent client
    libwbxml2-utils       # xml2wbxml / wbxml2xml: an independent WBXML encoder for fixtures
    mandoc                # man page lint in the test suite
    openssl               # s_server, the TLS peer of the check-server tests
    python3-cryptography  # independent implementation for MCIM cross-checks
    procps iproute2       # pgrep, ss: the rig checks processes and ports
)

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
    say "all ${#PACKAGES[@]} packages are installed"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
say "installing: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
