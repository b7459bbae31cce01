#!/usr/bin/env bash
# Checks the man pages for rendering problems (mandoc -T lint) and that every
# long option the --help of dmboot, apdu-shell and dmboot-sim shows is documented
# in its man page and README.md, and
# that both man pages and the README list every exit code of the one contract.
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

status=0
for page in man/*.[0-9]; do
    if ! out="$(mandoc -T lint -W warning "$page" 2>&1)"; then
        echo "$out" >&2
        status=1
    fi
    groff -man -Tutf8 -ww -z "$page" 2>&1 | sed "s|^|$page: |" | grep . >&2 && status=1
done

DMBOOT="$(dmboot_bin)"
help_options() {
    local path=("$@")
    "$DMBOOT" "${path[@]}" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]+' | grep -vx -- '--help' || true
    local sub
    for sub in $("$DMBOOT" "${path[@]}" --help 2>/dev/null | awk '/^SUBCOMMANDS:/{f=1;next} f && /^  [a-z]/{print $1}'); do
        help_options "${path[@]}" "$sub"
    done
}
rendered="$(mandoc -T utf8 man/dmboot.1 | col -b)"
for option in $(help_options | sort -u); do
    grep -q -- "$option" <<<"$rendered" || { echo "check-docs: $option is in --help but not in man/dmboot.1" >&2; status=1; }
    grep -q -- "$option" README.md || { echo "check-docs: $option is in --help but not in README.md" >&2; status=1; }
done
# A tool whose root command is the whole tool: every option of its --help is
# in its man page and the README.
check_tool_options() {
    local tool="$1" bin rendered option
    bin="$(product_bin "$tool")"
    rendered="$(mandoc -T utf8 "man/$tool.1" | col -b)"
    for option in $("$bin" --help | grep -oE -- '--[a-z][a-z0-9-]+' | grep -vx -- '--help' | sort -u); do
        grep -q -- "$option" <<<"$rendered" || { echo "check-docs: $tool $option is not in man/$tool.1" >&2; status=1; }
        grep -q -- "$option" README.md || { echo "check-docs: $tool $option is not in README.md" >&2; status=1; }
    done
}
check_tool_options apdu-shell
check_tool_options dmboot-sim
# One exit-code contract: every code `dmboot exit-codes` prints is in both man pages and the README.
for code in $("$DMBOOT" exit-codes | awk '{print $1}'); do
    for page in man/dmboot.1 man/apdu-shell.1; do
        grep -qx -- ".It $code" "$page" || { echo "check-docs: exit code $code is not in $page, EXIT STATUS" >&2; status=1; }
    done
    grep -q -- "^| $code |" README.md || { echo "check-docs: exit code $code is not in README.md, Exit status" >&2; status=1; }
done
[ $status -eq 0 ] && say "man pages lint clean; every dmboot, apdu-shell and dmboot-sim option is documented"
exit $status
