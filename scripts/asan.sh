#!/usr/bin/env bash
# The tests that drive dmboot's C libraries (OpenSSL, SQLite, PC/SC through a
# real pcscd, libedit, libxml2, libpq), built and run under AddressSanitizer
# in .build-asan, apart from the normal build. scripts/test.sh runs it with
# the rig and PostgreSQL up; alone it needs them too (see scripts/test.sh).
#
# Leak detection is off: Foundation and XCTest keep allocations until exit
# that LeakSanitizer would report on every run; out-of-bounds accesses,
# use-after-free and double frees in either Swift or C still fail the run.
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

FILTER='CardCryptoTests|SecureChannelTests|MCIMTests|ServerCheckTests|DMTreeTests|ProvisioningTests|DMBootstrapTests'
FILTER+='|CardTransportTests|ResultsTests|PCSCRoundTripTests|APDUShellTests|TreeBackupCommandTests'

started=$SECONDS
swift build --build-tests --build-path .build-asan -Xswiftc -sanitize=address 2>&1 \
    | grep -v -e '^\[' -e 'Cannot export local symbol' || true
swift build --build-tests --build-path .build-asan -Xswiftc -sanitize=address >/dev/null
say "built with AddressSanitizer in $((SECONDS - started)) s"
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    swift test --skip-build --build-path .build-asan --disable-swift-testing --filter "$FILTER"
say "AddressSanitizer run passed in $((SECONDS - started)) s"
