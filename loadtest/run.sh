#!/usr/bin/env bash
# `make loadtest`: a throwaway local clinic (SQLite, demo data, gunicorn) under a mixed
# reception-and-doctor workload (loadtest/locustfile.py) for a bounded time. Prints, per request
# type and in total: requests, throughput, latency p50/p95/p99/max, errors and error rate. Then
# stops gunicorn and removes the scratch clinic. Exits non-zero when any request failed.
#
#   LOADTEST_SECONDS=60       how long the workload runs
#   LOADTEST_USERS=20         staff signed in at once (2 receptionists : 1 doctor)
#   LOADTEST_SPAWN_RATE=5     users started per second
#   LOADTEST_WORKERS=3        gunicorn workers, 4 threads each (as in the Dockerfile)
#   LOADTEST_PORT=8011        where gunicorn listens (another free port when that one is taken)
#   LOADTEST_KEEP=1           keep the scratch folder: database, gunicorn.log, locust's CSV/HTML
#   LOADTEST_DATABASE_URL     load an empty PostgreSQL database instead of SQLite; its name must
#                             contain "loadtest" (it gets migrated and filled with demo data)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-.venv/bin}"
RUN_SECONDS="${LOADTEST_SECONDS:-60}"
USERS="${LOADTEST_USERS:-20}"
SPAWN_RATE="${LOADTEST_SPAWN_RATE:-5}"
WORKERS="${LOADTEST_WORKERS:-3}"
PORT="${LOADTEST_PORT:-8011}"

step() { printf '\n==> %s\n' "$*"; }

DIR="$(mktemp -d "${TMPDIR:-/tmp}/clinic-loadtest.XXXXXX")"
GUNICORN_PID=""
# shellcheck disable=SC2329  # called by the EXIT trap
cleanup() {
  if [ -n "$GUNICORN_PID" ]; then
    kill "$GUNICORN_PID" 2>/dev/null || true
    wait "$GUNICORN_PID" 2>/dev/null || true
  fi
  if [ "${LOADTEST_KEEP:-0}" = 1 ]; then
    echo "Kept: $DIR (gunicorn.log, locust.log, report_*.csv, report.html)"
  else
    rm -rf "$DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A local run (LOCAL_RUN=1: a generated key under $DIR, plain HTTP on 127.0.0.1) with production's
# other defaults (DEBUG off). Empty values override whatever this checkout's .env says.
export LOCAL_RUN=1 SECRET_KEY='' DEBUG=False HTTPS=off ALLOWED_HOSTS=127.0.0.1,localhost
export LOG_LEVEL=WARNING LOG_FORMAT=plain SENTRY_DSN='' MEDIA_S3_BUCKET=''
export DATA_DIR="$DIR" MEDIA_ROOT="$DIR/media"
export DATABASE_URL="${LOADTEST_DATABASE_URL:-sqlite:///$DIR/clinic.sqlite3}"
if [ -n "${LOADTEST_DATABASE_URL:-}" ] && [[ "${LOADTEST_DATABASE_URL##*/}" != *loadtest* ]]; then
  echo "LOADTEST_DATABASE_URL must name a database whose name contains 'loadtest'." >&2
  exit 2
fi

step "A scratch clinic in $DIR (${DATABASE_URL%%:*}): migrations, demo data, static files"
"$BIN/python" manage.py migrate --noinput --verbosity 0
"$BIN/python" manage.py seed_demo --verbosity 0
"$BIN/python" manage.py collectstatic --noinput --verbosity 0

port_free() {
  "$BIN/python" -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
if ! port_free "$PORT"; then
  PORT="$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi
URL="http://127.0.0.1:$PORT"

step "gunicorn on $URL ($WORKERS workers, 4 threads each)"
"$BIN/gunicorn" clinic.wsgi:application --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  --worker-class gthread --threads 4 --timeout 60 --error-logfile "$DIR/gunicorn.log" --capture-output &
GUNICORN_PID=$!

# Ready when /readyz answers 200 (the database answers, migrations applied); give up at once if
# gunicorn exits (a worker that cannot boot), or after 30 s.
for _ in $(seq 1 60); do
  if ! kill -0 "$GUNICORN_PID" 2>/dev/null; then
    GUNICORN_PID=""
    echo "gunicorn exited before answering:" >&2
    tail -n 25 "$DIR/gunicorn.log" >&2
    exit 1
  fi
  if "$BIN/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$URL/readyz" 2>/dev/null; then
    break
  fi
  sleep 0.5
done
"$BIN/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$URL/readyz" || {
  echo "gunicorn did not become ready within 30 s:" >&2
  tail -n 25 "$DIR/gunicorn.log" >&2
  exit 1
}

step "locust: $USERS users (2 receptionists : 1 doctor) for ${RUN_SECONDS} s"
status=0
LOADTEST_SUMMARY="$DIR/summary.txt" "$BIN/locust" -f loadtest/locustfile.py --headless --only-summary \
  --users "$USERS" --spawn-rate "$SPAWN_RATE" --run-time "${RUN_SECONDS}s" --host "$URL" \
  --csv "$DIR/report" --html "$DIR/report.html" >"$DIR/locust.log" 2>&1 || status=$?

echo
if [ -s "$DIR/summary.txt" ]; then
  cat "$DIR/summary.txt"
else
  echo "locust wrote no summary (exit status $status):"
  tail -n 40 "$DIR/locust.log"
fi
if [ "$status" != 0 ] && grep -q -E 'Traceback|ERROR|CRITICAL' "$DIR/gunicorn.log"; then
  echo
  echo "Server errors (gunicorn.log, last lines):"
  tail -n 30 "$DIR/gunicorn.log"
fi
exit "$status"
