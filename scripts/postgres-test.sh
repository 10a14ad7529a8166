#!/usr/bin/env bash
# Run the service tests against a throw-away PostgreSQL server (and SQLite, as always).
#
#   scripts/postgres-test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
exec scripts/with-postgres.sh "$PYTHON" -m pytest tests/service "$@"
