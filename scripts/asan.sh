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

# Every OpenSSL object the crypto facade makes (TLS contexts and sessions,
# certificates, keys, MAC and cipher contexts) is freed: the facade's tests
# run again with LeakSanitizer on, and a leaked block allocated through
# libcrypto or libssl fails the run. Foundation's and XCTest's allocations
# kept until exit are reported too, and are not ours to judge here.
leaks=$(ASAN_OPTIONS=detect_leaks=1 swift test --skip-build --build-path .build-asan --disable-swift-testing \
    --filter 'CardCryptoTests|TLSProbeTests' 2>&1 || true)
grep -q 'Executed .* tests, with 0 failures' <<<"$leaks" || { printf '%s\n' "$leaks" | tail -40; die "the leak run of the OpenSSL facade's tests did not pass"; }
if grep -qE 'lib(crypto|ssl)\.so' <<<"$leaks"; then
    printf '%s\n' "$leaks" | awk 'BEGIN { RS = "" } /leak of/ && /lib(crypto|ssl)\.so/ { print; print "" }' | head -80
    die "an OpenSSL object leaked in the facade's tests (LeakSanitizer, above)"
fi
say "no OpenSSL object leaked in the facade's tests"
