# Shared by the scripts in this folder: where things are, and how to fail.
set -euo pipefail
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RIG_DIR="${DMBOOT_RIG_DIR:-$REPO_DIR/.rig}"
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
say() { echo "$(basename "$0"): $*" >&2; }

# The dmboot binary of this checkout (built on demand).
dmboot_bin() {
    local bin
    bin="$(cd "$REPO_DIR" && swift build --show-bin-path)/dmboot"
    [ -x "$bin" ] || (cd "$REPO_DIR" && swift build --product dmboot >&2)
    echo "$bin"
}
