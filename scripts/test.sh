#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds,
# starts pcscd with the virtual readers and a private PostgreSQL server for
# the results tests, runs every test, and stops exactly what it started.
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

bash scripts/install-deps.sh
started=$SECONDS
swift build --build-tests 2>&1 | grep -v '^\[' || true
swift build --build-tests >/dev/null   # fail here, loudly, on a build error
say "built in $((SECONDS - started)) s"

trap 'bash scripts/rig-stop.sh; bash scripts/pg-stop.sh --remove' EXIT
bash scripts/rig-start.sh --no-card
DMBOOT_TEST_RESULTS_URL="$(bash scripts/pg-start.sh --no-fsync)"
export DMBOOT_TEST_RESULTS_URL

bash scripts/check-docs.sh
swift test --disable-swift-testing

# CI (.ci/run) adds the package test: a release build (minutes), lintian,
# dpkg -i, the installed binaries with the toolchain hidden, dpkg --purge.
if [ -n "${DMBOOT_PACKAGE:-}" ]; then
    bash scripts/test-deb.sh
fi

# CI (.ci/run) adds the sanitizer jobs: DMBOOT_SANITIZERS=1 runs them here,
# with the rig and PostgreSQL still up.
if [ -n "${DMBOOT_SANITIZERS:-}" ]; then
    # Every parser under libFuzzer: the seed corpora replayed, then a few
    # seconds per target (a debug build of the harness, quicker to make).
    FUZZ_CONFIGURATION=debug bash scripts/fuzz.sh --smoke "${DMBOOT_FUZZ_SECONDS:-4}"
    # The tests of the C-interop paths under AddressSanitizer.
    bash scripts/asan.sh
fi
