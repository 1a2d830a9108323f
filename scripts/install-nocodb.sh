#!/usr/bin/env bash
# Install a real NocoDB (0.262.5, the newest that runs on Node 20) for the NocoDB tests,
# from the npm registry only, into a cache folder (default .cache/nocodb, git-ignored).
#
# Idempotent: does nothing when the install is already there. Never fails the test run:
# without Node/npm, or when the install fails, it says why and the NocoDB tests skip.
#   NOCODB_DIR=/some/cache bash scripts/install-nocodb.sh
set -uo pipefail
cd "$(dirname "$0")/.."
SRC="$PWD/scripts/nocodb"
DIR="${NOCODB_DIR:-$PWD/.cache/nocodb}"
say() { printf 'install-nocodb: %s\n' "$*"; }

if [[ -f "$DIR/.installed" && -d "$DIR/node_modules/nocodb" ]]; then
    cp "$SRC/server.js" "$DIR/server.js"
    say "already installed in $DIR"
    exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "node/npm not found: the NocoDB tests will be skipped"
    exit 0
fi
mkdir -p "$DIR"
cp "$SRC/package.json" "$SRC/server.js" "$DIR/"
LOG="$DIR/install.log"
say "installing NocoDB into $DIR (about 2 minutes; log in $LOG)"
(
    set -e
    cd "$DIR"
    # --ignore-scripts: nocodb-sdk's preinstall runs `npx only-allow pnpm` (fails under npm).
    npm install --no-audit --no-fund --ignore-scripts
    # sqlite3's prebuilt binary comes from GitHub; build it against the local Node headers.
    prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
    if [[ -f "$prefix/include/node/node.h" ]]; then export npm_config_nodedir="$prefix"; fi
    npm rebuild sqlite3
    node -e "require('sqlite3'); require('sharp')"
) >"$LOG" 2>&1
if [[ $? -ne 0 ]]; then
    say "install failed (the NocoDB tests will be skipped); last lines of $LOG:"
    tail -n 15 "$LOG"
    exit 0
fi
touch "$DIR/.installed"
say "ok"
