#!/usr/bin/env bash
# `npm run test:postgres`: starts a throwaway PostgreSQL cluster (scripts/pg-cluster.sh), runs the
# database suites on it (vitest.postgres.config.ts), and stops it, whatever the outcome.
# Extra arguments go to vitest (e.g. a file filter).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$(mktemp -d "${TMPDIR:-/tmp}/circle-pg-test.XXXXXX")"
trap 'scripts/pg-cluster.sh stop "$dir"' EXIT
url="$(scripts/pg-cluster.sh start-fast "$dir")"
echo "== PostgreSQL test cluster at $url"
CIRCLE_TEST_POSTGRES_URL="$url" npx vitest run --config vitest.postgres.config.ts "$@"
