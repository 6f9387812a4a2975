#!/usr/bin/env bash
# Builds log_server.wasm (a logsandbox log-server written in Python) with componentize-py.
#
#   examples/python-log-server/build.sh            # from anywhere
#   LOGSANDBOX_PY_VENV=~/venvs/cpy build.sh        # another venv
#
# The venv (default: $REPO/target/python-venv) is created if missing, and the pinned
# componentize-py installed into it only if it is not there yet. Nothing is generated in
# this folder but log_server.wasm: componentize-py makes its bindings in memory, and the
# typed bindings it can write for an editor go to a temp dir (`--bindings DIR` keeps them).
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${LOGSANDBOX_PY_VENV:-$REPO/target/python-venv}"
OUT="$HERE/log_server.wasm"

BINDINGS=""
if [[ "${1:-}" == "--bindings" ]]; then
    BINDINGS="${2:?--bindings needs a directory}"
fi

start=$(date +%s.%N)

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "creating the venv $VENV"
    python3 -m venv "$VENV"
fi
installed="$("$VENV/bin/python" -m pip show componentize-py 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [[ "$installed" != "$COMPONENTIZE_PY_VERSION" ]]; then
    echo "installing componentize-py==$COMPONENTIZE_PY_VERSION into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "componentize-py==$COMPONENTIZE_PY_VERSION"
fi
CPY="$VENV/bin/componentize-py"

if [[ -n "$BINDINGS" ]]; then
    rm -rf "$BINDINGS"
    "$CPY" -d "$REPO/wit" -w log-node bindings "$BINDINGS"
    echo "typed bindings (for an editor) in $BINDINGS"
fi

# Build from a copy in a temp dir: componentize-py compiles the module to a .pyc beside
# its source (__pycache__/, whatever PYTHONDONTWRITEBYTECODE says), and a failed build then
# leaves no half-written log_server.wasm either.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/src"
cp "$HERE/log_server.py" "$TMP/src/"
cd "$TMP/src"
"$CPY" -q -d "$REPO/wit" -w log-node componentize log_server -p "$TMP/src" -o "$TMP/log_server.wasm"
mv "$TMP/log_server.wasm" "$OUT"

end=$(date +%s.%N)
bytes=$(stat -c %s "$OUT")
awk -v s="$start" -v e="$end" -v b="$bytes" -v o="$OUT" 'BEGIN {
    printf "built %s: %.1f MB (%d bytes) in %.1f s\n", o, b / 1e6, b, e - s
}'
