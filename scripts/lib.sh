# Shared by the scripts in this folder: where things are, and how to fail.
set -euo pipefail
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RIG_DIR="${DMBOOT_RIG_DIR:-$REPO_DIR/.rig}"
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
say() { echo "$(basename "$0"): $*" >&2; }

# An executable product of this checkout (built on demand).
product_bin() {
    local bin
    bin="$(cd "$REPO_DIR" && swift build --show-bin-path)/$1"
    [ -x "$bin" ] || (cd "$REPO_DIR" && swift build --product "$1" >&2)
    echo "$bin"
}

# The dmboot binary: what a factory installs.
dmboot_bin() { product_bin dmboot; }

# The card simulator (virtual cards behind pcscd's vpcd slots), apart from dmboot.
dmboot_sim_bin() { product_bin dmboot-sim; }
