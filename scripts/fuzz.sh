#!/usr/bin/env bash
# Coverage-guided fuzzing of dmboot's parsers with libFuzzer.
#
#   scripts/fuzz.sh TARGET SECONDS     fuzz one target for SECONDS (0: until stopped)
#   scripts/fuzz.sh --replay [TARGET]  run every seed of the corpus once (all targets by default)
#   scripts/fuzz.sh --smoke SECONDS    replay every corpus, then fuzz each target for SECONDS (CI)
#   scripts/fuzz.sh --list             the targets
#
# The harness (Fuzz/Harness) is built with -sanitize=fuzzer,address into
# .build-fuzz, apart from the normal build. Seeds live in Fuzz/corpus/TARGET
# and are only read; what a run discovers goes to .build-fuzz/corpus/TARGET,
# crashes and timeouts to .build-fuzz/findings/TARGET. Extra libFuzzer
# options can be given in FUZZ_OPTIONS (for example "-jobs=2").
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

TARGETS=(wbxml xml tnds cp ber scp03 apdu-script mcim content-type key-file policy tree-json path)
BUILD=.build-fuzz
CONFIGURATION=${FUZZ_CONFIGURATION:-release}

usage() { sed -n '3,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }

build() {
    local log
    log=$(mktemp)
    if ! DMBOOT_FUZZ=1 swift build --build-path "$BUILD" --product dmboot-fuzz -c "$CONFIGURATION" \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >"$log" 2>&1; then
        grep -v -e '^\[' -e 'Cannot export local symbol' -e 'prohibited flag' "$log" >&2 || true
        rm -f "$log"
        die "the fuzz harness did not build"
    fi
    rm -f "$log"
    HARNESS=$BUILD/$CONFIGURATION/dmboot-fuzz
}

known() {
    local target
    for target in "${TARGETS[@]}"; do [ "$target" = "$1" ] && return 0; done
    die "unknown fuzz target '$1'; targets: ${TARGETS[*]}"
}

# Each seed once; any crash fails the replay.
replay() {
    local target=$1 log
    log=$(mktemp)
    if ! DMBOOT_FUZZ_TARGET=$target "$HARNESS" -runs=0 -rss_limit_mb=2048 -timeout=10 \
            -artifact_prefix="$BUILD/findings/$target/" "Fuzz/corpus/$target" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "replaying the $target corpus failed"
    fi
    say "$target: replayed $(ls "Fuzz/corpus/$target" | wc -l) seeds"
    rm -f "$log"
}

case "${1:-}" in
    --list) printf '%s\n' "${TARGETS[@]}"; exit 0 ;;
    --replay)
        [ -z "${2:-}" ] || known "$2"
        build
        for target in ${2:-${TARGETS[@]}}; do
            mkdir -p "$BUILD/findings/$target"
            replay "$target"
        done
        exit 0 ;;
    --smoke)
        [[ "${2:-}" =~ ^[0-9]+$ ]] || usage
        build
        for target in "${TARGETS[@]}"; do
            mkdir -p "$BUILD/corpus/$target" "$BUILD/findings/$target"
            replay "$target"
            log=$(mktemp)
            if ! DMBOOT_FUZZ_TARGET=$target "$HARNESS" -max_total_time="$2" -max_len=8192 -timeout=10 \
                    -rss_limit_mb=2048 -artifact_prefix="$BUILD/findings/$target/" \
                    "$BUILD/corpus/$target" "Fuzz/corpus/$target" >"$log" 2>&1; then
                tail -n 60 "$log" >&2
                rm -f "$log"
                die "fuzzing $target found a crash (in $BUILD/findings/$target/)"
            fi
            say "$target: $(grep -o 'Done [0-9]* runs' "$log" | tail -n 1) in ${2}s, no crash"
            rm -f "$log"
        done
        exit 0 ;;
    ""|-*) usage ;;
esac

TARGET=$1
SECONDS_TO_RUN=${2:-}
known "$TARGET"
[[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] || usage
build
mkdir -p "$BUILD/corpus/$TARGET" "$BUILD/findings/$TARGET"
say "fuzzing $TARGET for ${SECONDS_TO_RUN}s; findings go to $BUILD/findings/$TARGET/"
# -max_len: a card's bootstrap file, a push or a key file fits; longer
# inputs only slow each run down.
DMBOOT_FUZZ_TARGET=$TARGET exec "$HARNESS" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/findings/$TARGET/" ${FUZZ_OPTIONS:-} \
    "$BUILD/corpus/$TARGET" "Fuzz/corpus/$TARGET"
