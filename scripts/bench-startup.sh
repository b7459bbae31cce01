#!/usr/bin/env bash
# Benchmark (not a test) of the whole-process start-up budget (issue 27 item 4):
# side by side in one run, with hyperfine, `dmboot read` against
# `opensc-tool` sending the same number of APDUs to the same virtual card, and
# `dmboot --version` against `opensc-tool --version`; prints the ratios of the
# mean times (budget: 1.2x and 2x) and the instructions each executes
# (valgrind --tool=callgrind: exact and repeatable, whatever else the machine
# does), with the dynamic loader's share and its relocation counts.
# The dmboot measured is the release build of scripts/build-release.sh, or
# DMBOOT=PATH (another build, to compare a lever).
# usage: scripts/nsrun bash scripts/bench-startup.sh [RUNS]      (default 40)
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
runs="${1:-40}"

command -v hyperfine >/dev/null || die "hyperfine is missing (scripts/install-deps.sh)"
DMBOOT="${DMBOOT:-$(bash scripts/build-release.sh dmboot | tail -1)/dmboot}"
DMBOOT_SIM="$(dmboot_sim_bin)"
WORK="$(mktemp -d)"
sim_pid=""
cleanup() {
    [ -z "$sim_pid" ] || { kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null || true; }
    bash scripts/rig-stop.sh >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
bash scripts/rig-start.sh --no-card >/dev/null
"$DMBOOT_SIM" --write-keys "$WORK/keys.json"
"$DMBOOT_SIM" --port 35963 >"$WORK/sim.log" 2>&1 &
sim_pid=$!
READER="Virtual PCD 00 00"
read_args=(read --reader "$READER" --keys "$WORK/keys.json")
json=""
for _ in $(seq 50); do
    json="$("$DMBOOT" "${read_args[@]}" --json 2>/dev/null)" && break
    sleep 0.2
done
[ -n "$json" ] || die "dmboot read failed; see $WORK/sim.log"
apdus="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["apduCount"])' "$json")"
# opensc-tool's side: the same number of exchanges with the same card, the
# read's first two commands (SELECT EF.ICCID, READ BINARY) in turn, with the
# default driver so that it sends nothing of its own to identify the card.
opensc=(opensc-tool -r 0 -c default)
for i in $(seq "$apdus"); do
    if [ $((i % 2)) -eq 1 ]; then opensc+=(-s 00A4080C022FE2); else opensc+=(-s 00B000000A); fi
done
"${opensc[@]}" >/dev/null 2>&1 || die "opensc-tool could not send the APDUs: $("${opensc[@]}" 2>&1 | tail -2)"

say "dmboot: $DMBOOT ($(stat -c %s "$DMBOOT") bytes); the read sends $apdus APDUs"
quote() { printf '%q ' "$@"; }
hyperfine -N --warmup 3 --runs "$runs" --export-json "$WORK/times.json" \
    -n "dmboot read" "$(quote "$DMBOOT" "${read_args[@]}")" \
    -n "opensc-tool ($apdus APDUs)" "$(quote "${opensc[@]}")" \
    -n "dmboot --version" "$(quote "$DMBOOT" --version)" \
    -n "opensc-tool --version" "opensc-tool --version" >&2

# instructions PROGRAM ARGS...: "total loader" instruction counts of one run
# under callgrind, the loader's being the self cost of ld-linux (symbol lookup,
# relocations, loading), read off the callgrind file's object records.
instructions() {
    local out="$WORK/callgrind.out"
    rm -f "$out"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1 || true
    python3 - "$out" <<'PY'
import re, sys
names, cost, current, after_call = {}, {}, None, False
for line in open(sys.argv[1], errors="replace"):
    match = re.match(r"(c?ob)=\((\d+)\)(?: (.*))?", line.strip())
    if match:
        kind, number, name = match.groups()
        if name:
            names[number] = name
        if kind == "ob":
            current = number
    elif line.startswith("calls="):
        after_call = True
    elif line[:1].isdigit() or line[:1] in "+-*":
        if after_call:
            after_call = False  # the inclusive cost of a call, counted in the callee
            continue
        fields = line.split()
        if len(fields) >= 2:
            cost[current] = cost.get(current, 0) + int(fields[1])
loader = sum(v for k, v in cost.items() if "/ld-linux" in names.get(k, ""))
print(sum(cost.values()), loader)
PY
}
relocations() {
    LD_DEBUG=statistics "$@" 2>&1 >/dev/null | awk -F: '/number of relocations:/ && !r { gsub(/ /, "", $3); r = $3 }
        /relative relocations:/ && !rr { gsub(/ /, "", $3); rr = $3 } END { print r + 0, rr + 0 }'
}
read -r read_total read_loader < <(instructions "$DMBOOT" "${read_args[@]}")
read -r opensc_total opensc_loader < <(instructions "${opensc[@]}")
read -r version_total version_loader < <(instructions "$DMBOOT" --version)
read -r oversion_total oversion_loader < <(instructions opensc-tool --version)
read -r symbolic relative < <(relocations "$DMBOOT" --version)

python3 - "$WORK/times.json" "$read_total" "$read_loader" "$opensc_total" "$opensc_loader" \
    "$version_total" "$version_loader" "$oversion_total" "$oversion_loader" "$symbolic" "$relative" <<'EOF'
import json, sys
times = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
names = list(times)
c = [int(x) for x in sys.argv[2:]]
def ms(name): return times[name]["mean"] * 1000
print(f"{'command':<26}{'mean ms':>9}{'± ms':>7}{'instructions':>15}{'of which loader':>17}")
for name, (total, loader) in zip(names, [(c[0], c[1]), (c[2], c[3]), (c[4], c[5]), (c[6], c[7])]):
    print(f"{name:<26}{ms(name):>9.2f}{times[name]['stddev'] * 1000:>7.2f}{total:>15,}{loader:>17,}")
print(f"ratio read    : {ms(names[0]) / ms(names[1]):.2f}x time, {c[0] / c[2]:.2f}x instructions (budget 1.2x)")
print(f"ratio version : {ms(names[2]) / ms(names[3]):.2f}x time, {c[4] / c[6]:.2f}x instructions (budget 2x)")
print(f"dmboot --version: {c[8]:,} symbol relocations, {c[9]:,} relative relocations (LD_DEBUG=statistics)")
EOF
