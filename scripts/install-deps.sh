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
    libxml2-dev           # the XML parser for bootstrap documents and tree imports
    pcsc-tools            # scriptor, pcsc_scan: independent clients for cross-checks
    opensc                # opensc-tool: another independent client
    vsmartcard-vpicc      # vicc: python-virtualsmartcard's ISO 7816-4 card, a file system we did not write
    python3-pycryptodome  # vicc imports Crypto (the Debian package does not depend on it)
    libwbxml2-utils       # xml2wbxml / wbxml2xml: an independent WBXML encoder for fixtures
    mandoc                # man page lint in the test suite
    openssl               # s_server, the TLS peer of the check-server tests
    softhsm2              # a PKCS#11 token for the key-custody tests (master keys that never leave it)
    libp11-kit-dev        # pkcs11.h (the header only: dmboot dlopens the module named in the URI)
    python3-cryptography  # independent implementation for MCIM cross-checks
    procps iproute2       # pgrep, ss: the rig checks processes and ports
    libpq-dev             # libpq: the results database client
    postgresql            # the results database server the tests start (scripts/pg-start.sh)
    dpkg-dev lintian      # dpkg-shlibdeps and the package check of scripts/package-deb.sh
    hyperfine valgrind    # scripts/bench-startup.sh: whole-process times and instruction counts
    chromium chromium-driver python3-selenium  # a real browser on the dashboard in the tests
    python3-prometheus-client                  # an independent parser of station --metrics
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
# Debian's postgresql would create and start a default cluster on port 5432:
# the tests run their own (scripts/pg-start.sh), so nothing is left running.
if [[ " ${missing[*]} " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $SUDO mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
if [[ " ${missing[*]} " == *" postgresql "* ]]; then
    # Should a default cluster exist after all, the package's service is not ours to leave running.
    pg_lsclusters --no-header 2>/dev/null | awk '$4 == "online" { print $1, $2 }' | while read -r version name; do
        $SUDO pg_ctlcluster "$version" "$name" stop
    done
fi
