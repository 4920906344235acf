#!/usr/bin/env bash
# Puts the peers at the versions the node on PATH takes and builds the optional native peer
# (better-sqlite3) for it, against its own headers (npm_config_nodedir, set by the caller for a
# line fetched with scripts/node-line.sh). Extra specs (better-sqlite3@12, ioredis@5) are passed
# on to scripts/line-peers.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/line-peers.mjs "$@"
