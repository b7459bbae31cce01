#!/usr/bin/env bash
# Benchmark (not a test) of the APDU economy of a card read (issue 14 item
# 13): `dmboot read` at level 33 through pcscd against the demo card with
# short APDUs, with extended length, and against the T=0 personality, each
# count printed beside the minimum this read can have.
#
# The minimum: SELECT + READ BINARY of EF.ICCID, SELECT + READ RECORD of
# EF(DIR) (its DDO may move ODF and TokenInfo, PKCS#15 v1.1 5.4), SELECT of
# the PKCS#15 application, INITIALIZE UPDATE and EXTERNAL AUTHENTICATE, then SELECT + one
# READ BINARY for each of ODF, TokenInfo and DODF (they are shorter than one
# chunk) and SELECT + ceil(document / chunk) READ BINARY for the bootstrap:
# its document's size, not its EF's (the demo EF is 2560 bytes, the WBXML
# 2275). A chunk is 239 plain bytes at level 33 in a short APDU (C-MAC and
# R-ENCRYPTION padding take the rest) and 65519 extended. On T=0 every
# command that returns data costs one GET RESPONSE more (ISO/IEC 7816-3 12).
# Then the cards stricter than expected (issue 24), each beside the minimum
# of the demo card read the same way: the difference is what the card's
# behaviour (and dmboot's recovery from it) costs per card.
# Run it inside scripts/nsrun (a private pcscd namespace) when another pcscd runs.
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

bash scripts/install-deps.sh >/dev/null
swift build --product dmboot 2>&1 | tail -n 1
swift build --product dmboot-sim 2>&1 | tail -n 1
DMBOOT="$(dmboot_bin)"
DMBOOT_SIM="$(dmboot_sim_bin)"
trap 'bash scripts/rig-stop.sh' EXIT
bash scripts/rig-start.sh --no-card >/dev/null
WORK="$(mktemp -d)"
READER="Virtual PCD 00 00"

# read_count PERSONALITY|demo EXTENDED-LENGTH: prints "apduCount documentSize" of one read.
read_count() {
    local card=() simulator
    [ "$1" = demo ] || card=(--personality "$1")
    "$DMBOOT_SIM" "${card[@]}" --write-keys "$WORK/keys.json" --force 2>/dev/null
    "$DMBOOT_SIM" "${card[@]}" --port 35963 >"$WORK/simulate.log" 2>&1 &
    simulator=$!
    # --wait: the new card can take a few seconds to reach pcscd after the
    # last one left; a read that still fails is said with its error.
    local json="" status=1
    for _ in $(seq 5); do
        json="$("$DMBOOT" read --reader "$READER" --wait 30 --keys "$WORK/keys.json" --extended-length "$2" \
            --json 2>/dev/null)" && { status=0; break; }
        sleep 0.2
    done
    kill "$simulator"
    wait "$simulator" 2>/dev/null || true
    [ "$status" -eq 0 ] || die "dmboot read of the $1 card failed: ${json:-no output}; see $WORK/simulate.log"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["apduCount"], r["objects"][0]["size"])' "$json"
}

ceil() { echo $(( ($1 + $2 - 1) / $2 )); }

printf '%-22s %8s %8s  %s\n' "card" "APDUs" "minimum" "of which"
for run in "demo off short" "demo on extended" "t0 auto T=0"; do
    set -- $run
    read -r count size < <(read_count "$1" "$2")
    case "$3" in
        short)    reads=$(ceil "$size" 239); minimum=$((2 + 2 + 1 + 2 + 3 * 2 + 1 + reads)); extra="" ;;
        extended) reads=$(ceil "$size" 65519); minimum=$((2 + 2 + 1 + 2 + 3 * 2 + 1 + reads)); extra="" ;;
        T=0)      reads=$(ceil "$size" 239)
                  # GET RESPONSE after: READ of EF.ICCID, SELECT (FCP) and READ RECORD of
                  # EF(DIR), SELECT AID (FCP), INITIALIZE UPDATE, 4 SELECTs with FCP under
                  # R-MAC, and every READ BINARY.
                  getresponse=$((1 + 2 + 1 + 1 + 4 + 3 + reads))
                  minimum=$((2 + 2 + 1 + 2 + 3 * 2 + 1 + reads + getresponse)); extra=", $getresponse GET RESPONSE" ;;
    esac
    printf '%-22s %8d %8d  %s\n' "$1 ($3)" "$count" "$minimum" \
        "bootstrap $size bytes in $reads READ BINARY (its EF would take $(ceil 2560 "$( [ "$3" = extended ] && echo 65519 || echo 239)"))$extra"
done

# Short reads: every READ BINARY brings 200 bytes, not 239. fcp-refused: each
# EF SELECT is refused once (P2 04) and EF(DIR) leads to the application.
# no-extended: the extended SELECT of the application is refused once.
# sm-6cxx: one 6CEF, then Le EF for the session. wire-le: 6700, a new command
# meeting 6982, the application, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE and
# the EF again, then Le EF for the session. two-apps: the AID refused, the
# first entry refused, the second read and selected by path. ddo-aid: ODF
# and TokenInfo where the DDO puts them, at the demo card's cost.
demo_short=$((2 + 2 + 1 + 2 + 3 * 2 + 1 + $(ceil 2275 239)))
demo_extended=$((2 + 2 + 1 + 2 + 3 * 2 + 1 + 1))
printf '\n%-22s %8s %8s %8s\n' "stricter card" "APDUs" "minimum" "cost"
for run in "short-reads short" "fcp-refused short" "no-extended short" "extended extended" "sm-6cxx short" "wire-le short" "two-apps short" "ddo-aid short"; do
    set -- $run
    read -r count _ < <(read_count "$1" auto)
    minimum=$([ "$2" = extended ] && echo "$demo_extended" || echo "$demo_short")
    printf '%-22s %8d %8d %+8d\n' "$1" "$count" "$minimum" $((count - minimum))
done
