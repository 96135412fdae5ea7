#!/usr/bin/env bash
# The one test command (`npm test`): installs what the tests need when it is missing, builds,
# starts a throwaway PostgreSQL on loopback, runs every test, stops the server, and ends with
# a line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

# 1. npm packages (fresh clone, or a lockfile newer than the install).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund || exit 1   # its prepare step builds dist/
  built=1
fi

# 2. Debian packages: chromium for browser tests, postgresql for the PostgreSQL engine,
#    systemd for systemd-analyze (the deploy unit's test), strace for the durability test.
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
command -v systemd-analyze >/dev/null || need+=(systemd)
[ -x /usr/bin/strace ] || need+=(strace)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || exit 1
fi

# 3. Build (tests that start the relay as a process run dist/).
if [ -z "${built:-}" ]; then
  echo "== build"
  npm run --silent build || exit 1
fi

# Type errors anywhere (tests and benches included) fail the run before any test starts.
echo "== typecheck"
npm run --silent typecheck || exit 1

# 4. A throwaway PostgreSQL for this run.
# shellcheck source=scripts/pg-throwaway.sh
source scripts/pg-throwaway.sh
pg_throwaway_start || exit 1
trap pg_throwaway_stop EXIT

# 5. The tests.
mkdir -p test-results
echo "== vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
code=$?
node scripts/summarise-results.js test-results/vitest.json || code=1
exit $code
