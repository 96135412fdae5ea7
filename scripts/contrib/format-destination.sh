#!/usr/bin/env bash
# Formats and lints src/destination the way segmentio/action-destinations does: their Prettier
# (2.4.1; semi false, singleQuote, trailingComma none, printWidth 120) and their eslint rules
# (scripts/contrib/eslintrc.destination.js). The rest of csb-relay keeps its own style.
#
#   npm run format:destination            rewrite: eslint --fix, then prettier --write
#   npm run format:destination -- --check change nothing; exit 1 on any lint problem (warnings
#                                         included) or unformatted file
set -uo pipefail
cd "$(dirname "$0")/../.."
DIR=src/destination
ESLINT=(npx eslint --no-eslintrc -c scripts/contrib/eslintrc.destination.js --ext .ts --max-warnings 0)
PRETTIER=(npx prettier --config scripts/contrib/prettierrc.json --no-editorconfig)
FILES=("$DIR/**/*.ts" "$DIR/**/*.json")

if [ "${1:-}" = "--check" ]; then
  status=0
  "${ESLINT[@]}" "$DIR" || status=1
  "${PRETTIER[@]}" --check "${FILES[@]}" || status=1
  [ $status -eq 0 ] && echo "src/destination: eslint clean, prettier clean"
  exit $status
fi
"${ESLINT[@]}" --fix "$DIR"
lint=$?
"${PRETTIER[@]}" --write --loglevel warn "${FILES[@]}" || exit 1
exit $lint
