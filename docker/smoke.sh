#!/usr/bin/env bash
# The image tried as an operator would (`make docker-smoke`; not part of CI: it needs a Docker engine,
# a few minutes and, for the second run, a local PostgreSQL). It builds the Dockerfile, then runs the
# image twice, on SQLite (a volume for /data) and on PostgreSQL (a fresh database), and checks each
# time: the release step (migrate before gunicorn), the image's HEALTHCHECK, /healthz and /readyz,
# the HTTPS redirect, a sign-in through the real form, a PDF uploaded through the real form by a
# doctor and downloaded back byte for byte, a restart on the same data, and a backup. Then with no
# database (a refused port) and a hung one: alive and healthy, /readyz 503, users' requests end in
# seconds, the release step refuses to start. One PASS or FAIL line per check; exits 1 if any failed. Containers, the volume and the database it made are
# removed at the end; the image (IMAGE) is kept.
#
# Two ways of running, one per database. SQLite: the guide's local try-out (HTTPS=off, plain HTTP,
# `seed_demo` as written there). PostgreSQL: production's settings (a SECRET_KEY, HTTPS on by
# default) behind a TLS proxy, played by curl: X-Forwarded-Proto: https and an https Referer on each
# request (curl keeps Secure cookies for 127.0.0.1), and a read-only root filesystem.
#
# Environment: IMAGE (clinic:smoke), SQLITE_PORT (18080), POSTGRES_PORT (18081), POSTGRES_URL
# (postgres://postgres@127.0.0.1:5432; empty skips the PostgreSQL run), SMOKE_DB (clinic_docker_smoke,
# dropped and made again), PIP_CERT (a CA bundle given to pip as a build secret; defaults to the
# host's when outgoing HTTPS is intercepted), SKIP_BUILD=1 (use IMAGE as it is).
# When the base image cannot be pulled, docker/standin-base.sh makes a local stand-in (as root).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
IMAGE=${IMAGE:-clinic:smoke}
SQLITE_PORT=${SQLITE_PORT:-18080}
POSTGRES_PORT=${POSTGRES_PORT:-18081}
POSTGRES_URL=${POSTGRES_URL-postgres://postgres@127.0.0.1:5432}
SMOKE_DB=${SMOKE_DB:-clinic_docker_smoke}
BASE=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' Dockerfile | head -1)
PREFIX=clinic-smoke
WORK=$(mktemp -d /tmp/clinic-smoke.XXXXXX)
PASSWORD="smoke-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
SECRET_KEY="smoke-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
FAILED=0

pass() { printf 'PASS  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILED=1; }
note() { printf '      %s\n' "$*"; }
check() { # check "what" command...: PASS when the command succeeds
    local what=$1
    shift
    if "$@" >>"$WORK/log" 2>&1; then pass "$what"; else fail "$what"; fi
}

cleanup() {
    cleanup_runs
    [ -n "$POSTGRES_URL" ] && psql_admin -c "DROP DATABASE IF EXISTS $SMOKE_DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
cleanup_runs() {
    docker rm -f -v "$PREFIX-sqlite" "$PREFIX-postgres" "$PREFIX-nodb" "$PREFIX-norelease" \
        "$PREFIX-hung" "$PREFIX-hungdb" >/dev/null 2>&1
    docker volume rm -f "$PREFIX-data" >/dev/null 2>&1
}

# psql from the image itself (it ships PostgreSQL's client), so the host needs none.
psql_admin() { docker run --rm --network host "$IMAGE" psql -X -q -v ON_ERROR_STOP=1 "$POSTGRES_URL/postgres" "$@"; }

# BuildKit is needed (the pip_cert build secret). A Docker CLI without the buildx plugin still has
# the built-in one when it is older than 23 (Debian's docker.io); pick such a CLI if there is one.
build_cli() {
    local cli
    for cli in $(which -a docker); do
        if "$cli" buildx version >/dev/null 2>&1; then echo "$cli"; return; fi
    done
    for cli in $(which -a docker); do
        case $("$cli" version --format '{{.Client.Version}}' 2>/dev/null) in
        1[89].* | 2[012].*) echo "$cli"; return ;;
        esac
    done
    echo docker
}

# --- The image ---------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    if docker image inspect "$BASE" >/dev/null 2>&1 || docker pull -q "$BASE" >/dev/null 2>&1; then
        pass "base image $BASE is here"
    else
        note "$BASE cannot be pulled: making a local stand-in (docker/standin-base.sh)"
        started=$(date +%s)
        if docker/standin-base.sh "$BASE"; then
            pass "stand-in base $BASE made in $(($(date +%s) - started)) s"
        else
            fail "stand-in base $BASE"
            exit 1
        fi
    fi
    secret=()
    # An intercepting proxy on the way to PyPI: give pip the host's CA bundle, which trusts it.
    if [ -z "${PIP_CERT:-}" ] && ! docker run --rm "$BASE" python -c \
        "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/pip/', timeout=15)" >/dev/null 2>&1; then
        PIP_CERT=/etc/ssl/certs/ca-certificates.crt
    fi
    [ -n "${PIP_CERT:-}" ] && secret=(--secret "id=pip_cert,src=$PIP_CERT") && note "pip trusts $PIP_CERT (build secret)"
    started=$(date +%s)
    if DOCKER_BUILDKIT=1 "$(build_cli)" build --progress=plain "${secret[@]}" -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
        pass "image $IMAGE built in $(($(date +%s) - started)) s"
    else
        tail -30 "$WORK/build.log"
        fail "image $IMAGE builds"
        exit 1
    fi
fi
note "image size: $(docker image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1 / 1e6}')"

# What the image holds: the app, run by a numeric non-root user; no tests, local data or secrets.
check "runs as the non-root user 10001" test "$(docker run --rm "$IMAGE" id -u)" = 10001
found=$(docker run --rm "$IMAGE" sh -c 'cd /app && ls -d .env .git .venv .hypothesis .pytest_cache data media \
    docker docs loadtest conftest.py */tests 2>/dev/null' | tr '\n' ' ')
if [ -z "$found" ]; then pass "no tests, local data, secrets or tool folders in /app"; else
    fail "no tests, local data, secrets or tool folders in /app (found: $found)"; fi

# --- One run ---------------------------------------------------------------------------------------
# curl as the browser; behind the TLS proxy (SCHEME=https) with the header the proxy adds.
BASE_URL=
SCHEME=http
web() {
    local proxy=()
    [ "$SCHEME" = https ] && proxy=(-H 'X-Forwarded-Proto: https' -H 'X-Forwarded-For: 203.0.113.9')
    curl -sS -b "$WORK/cookies" -c "$WORK/cookies" "${proxy[@]}" "$@"
}
field() { sed -n "s/.*name=\"$1\" value=\"\\([^\"]*\\)\".*/\\1/p" "$2" | head -1; }

wait_healthy() { # the image's own HEALTHCHECK, as `docker inspect` reports it
    local name=$1 started=$2 status
    for _ in $(seq 1 90); do
        status=$(docker inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null)
        [ "$status" = healthy ] && { pass "HEALTHCHECK healthy $(($(date +%s) - started)) s after start"; return 0; }
        [ "$(docker inspect --format '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || break
        sleep 2
    done
    fail "HEALTHCHECK healthy (status: ${status:-none})"
    docker logs --tail 30 "$name"
    return 1
}

released() { # released NAME SINCE TEXT: since SINCE, TEXT (the release step) came before gunicorn listened
    local name=$1 since=$2 expect=$3 log="$WORK/$1.log"
    for _ in $(seq 1 90); do
        docker logs --since "$since" "$name" >"$log" 2>&1
        grep -q 'Listening at' "$log" && break
        sleep 1
    done
    grep -q "$expect" "$log" && grep -q 'Listening at' "$log" \
        && [ "$(grep -n "$expect" "$log" | head -1 | cut -d: -f1)" -lt "$(grep -n 'Listening at' "$log" | head -1 | cut -d: -f1)" ]
}

sign_in() {
    rm -f "$WORK/cookies"
    web -o "$WORK/login.html" "$BASE_URL/accounts/login/" || return 1
    web -o /dev/null -w '%{http_code} %{redirect_url}\n' -H "Referer: $SCHEME://${BASE_URL#http://}/accounts/login/" \
        --data-urlencode "csrfmiddlewaretoken=$(field csrfmiddlewaretoken "$WORK/login.html")" \
        --data-urlencode username=doctor --data-urlencode "password=$PASSWORD" \
        "$BASE_URL/accounts/login/" >"$WORK/signin" || return 1
    grep -q '^302 .*/clinical/my-day/$' "$WORK/signin" || { cat "$WORK/signin"; return 1; }
    web -o "$WORK/myday.html" -w '%{http_code}' "$BASE_URL/clinical/my-day/" | grep -q 200 \
        && grep -q 'Hart' "$WORK/myday.html"
}

upload() {
    local form="$BASE_URL/documents/patients/$1/upload/" location version
    web -o "$WORK/upload.html" "$form" || return 1
    web -o "$WORK/uploaded.html" -w '%{http_code} %{redirect_url}\n' -H "Referer: $SCHEME://${form#http://}" \
        -F "csrfmiddlewaretoken=$(field csrfmiddlewaretoken "$WORK/upload.html")" \
        -F "client_token=$(field client_token "$WORK/upload.html")" \
        -F doc_type=lab_result -F 'title=Smoke test lab result' -F "document_date=$(date -u +%F)" \
        -F "file=@$WORK/smoke.pdf;type=application/pdf" "$form" >"$WORK/upload" || return 1
    location=$(sed -n 's/^302 //p' "$WORK/upload")
    [ -n "$location" ] || { cat "$WORK/upload"; grep -o 'class="error[^<]*<[^<]*' "$WORK/uploaded.html"; return 1; }
    web -o "$WORK/document.html" "${location/https:/http:}" || return 1
    version=$(grep -o '/documents/versions/[0-9]*/file/' "$WORK/document.html" | head -1)
    [ -n "$version" ] && echo "$version" >"$WORK/version" && downloaded "$version"
}

downloaded() { # the stored file comes back through the permission-checked view, byte for byte
    web -o "$WORK/download.pdf" "$BASE_URL$1" && cmp -s "$WORK/smoke.pdf" "$WORK/download.pdf"
}

smoke_run() { # smoke_run LABEL NAME PORT http|https docker-run-options...
    local label=$1 name=$2 port=$3 started since seeded patient seed=()
    SCHEME=$4
    shift 4
    BASE_URL="http://127.0.0.1:$port"
    echo "--- $label"
    started=$(date +%s)
    since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    docker run -d --name "$name" -e "SECRET_KEY=$SECRET_KEY" -e ALLOWED_HOSTS=127.0.0.1,localhost \
        -e "PORT=$port" "$@" "$IMAGE" >/dev/null || { fail "$label: container starts"; return; }
    check "$label: release step migrates, then gunicorn starts" released "$name" "$since" '  Applying '
    wait_healthy "$name" "$started"
    check "$label: /healthz answers 200 over plain HTTP" test "$(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/healthz")" = 200
    check "$label: /readyz answers 200 (database answers, migrations applied)" \
        test "$(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/readyz")" = 200
    if [ "$SCHEME" = https ]; then
        check "$label: plain HTTP is redirected to HTTPS" \
            test "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$BASE_URL/accounts/login/")" \
            = "301 https://127.0.0.1:$port/accounts/login/"
        seed=(--allow-production)
    fi
    seeded=$(date +%s)
    check "$label: manage.py seed_demo${seed[*]:+ ${seed[*]}} loads the demo" \
        docker exec "$name" python manage.py seed_demo "${seed[@]}" --password "$PASSWORD"
    note "seed_demo took $(($(date +%s) - seeded)) s"
    check "$label: the doctor signs in through the sign-in form" sign_in
    patient=$(docker exec "$name" python manage.py shell --verbosity 0 -c \
        "from patients.models import Patient; print(Patient.objects.order_by('pk').values_list('pk', flat=True).first())")
    check "$label: the doctor uploads a PDF through the form and downloads it back" upload "$patient"
    check "$label: manage.py backup writes a backup" \
        sh -c "docker exec $name python manage.py backup /backups 2>&1 | tee -a $WORK/log | grep -q '^backup ok'"
    started=$(date +%s)
    since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    docker restart "$name" >/dev/null
    check "$label: after a restart the release step finds nothing to migrate" \
        released "$name" "$since" 'No migrations to apply'
    wait_healthy "$name" "$started"
    check "$label: after a restart the document is still there" sign_in_and_download
}

sign_in_and_download() { sign_in && downloaded "$(cat "$WORK/version")"; }

# A small, valid PDF made by the image's own fpdf2.
docker run --rm "$IMAGE" python -c "
import sys
from fpdf import FPDF
pdf = FPDF(); pdf.add_page(); pdf.set_font('helvetica', size=12); pdf.cell(text='Docker smoke test')
sys.stdout.buffer.write(bytes(pdf.output()))" >"$WORK/smoke.pdf"
: >"$WORK/log"

cleanup_runs
smoke_run "SQLite" "$PREFIX-sqlite" "$SQLITE_PORT" http -e HTTPS=off -p "127.0.0.1:$SQLITE_PORT:$SQLITE_PORT" -v "$PREFIX-data:/data"
docker rm -f -v "$PREFIX-sqlite" >/dev/null 2>&1

if [ -n "$POSTGRES_URL" ]; then
    # A database of its own, never another one's data; host networking reaches the host's server,
    # and gunicorn then listens on the loopback only.
    if psql_admin -c "DROP DATABASE IF EXISTS $SMOKE_DB WITH (FORCE)" -c "CREATE DATABASE $SMOKE_DB" >>"$WORK/log" 2>&1; then
        # A read-only root filesystem this time, as a hardened deployment runs it: the app may write
        # only to /data (the image's anonymous volume here), /backups and /tmp.
        smoke_run "PostgreSQL" "$PREFIX-postgres" "$POSTGRES_PORT" https --network host \
            --read-only --tmpfs /tmp --tmpfs /backups:uid=10001,gid=10001 \
            -e "DATABASE_URL=$POSTGRES_URL/$SMOKE_DB" -e PROXY_COUNT=1 -e "GUNICORN_CMD_ARGS=--bind 127.0.0.1:$POSTGRES_PORT"
    else
        fail "PostgreSQL: database $SMOKE_DB created at $POSTGRES_URL"
    fi
fi

# No database at all (a refused port): the process stays alive and healthy, /readyz says no at once,
# and with the release step on the container stops instead of serving an unmigrated database.
echo "--- PostgreSQL unreachable"
BASE_URL="http://127.0.0.1:$SQLITE_PORT"
nodb=(-e "SECRET_KEY=$SECRET_KEY" -e "PORT=$SQLITE_PORT" -e DATABASE_URL=postgres://clinic@127.0.0.1:1/clinic)
started=$(date +%s)
docker run -d --name "$PREFIX-nodb" "${nodb[@]}" -e RUN_MIGRATIONS=0 -p "127.0.0.1:$SQLITE_PORT:$SQLITE_PORT" "$IMAGE" >/dev/null
wait_healthy "$PREFIX-nodb" "$started"
check "no database: /healthz answers 200" test "$(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/healthz")" = 200
check "no database: /readyz answers 503 within 10 s" \
    test "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$BASE_URL/readyz")" = 503
docker rm -f -v "$PREFIX-nodb" >/dev/null 2>&1
docker run --name "$PREFIX-norelease" "${nodb[@]}" "$IMAGE" >"$WORK/norelease.log" 2>&1
status=$?
check "no database: the release step fails and the container exits ($status) without serving" \
    sh -c "[ $status != 0 ] && ! grep -q 'Listening at' '$WORK/norelease.log'"
docker rm -f -v "$PREFIX-norelease" >/dev/null 2>&1

# A hung database (it accepts connections and never answers): requests end in 503 within seconds,
# and /healthz still answers while they wait, so the container is not killed and restarted in a loop.
echo "--- PostgreSQL hung"
docker run -d --name "$PREFIX-hungdb" -p "127.0.0.1:$SQLITE_PORT:$SQLITE_PORT" "$IMAGE" python -c "
import socket
server = socket.create_server(('127.0.0.1', 5999), backlog=200)
held = []
while True:
    held.append(server.accept()[0])" >/dev/null
started=$(date +%s)
docker run -d --name "$PREFIX-hung" --network "container:$PREFIX-hungdb" -e "SECRET_KEY=$SECRET_KEY" -e HTTPS=off \
    -e "PORT=$SQLITE_PORT" -e RUN_MIGRATIONS=0 -e DATABASE_URL=postgres://clinic@127.0.0.1:5999/clinic "$IMAGE" >/dev/null
wait_healthy "$PREFIX-hung" "$started"
# 16 requests that need the database (a session to look up), more than gunicorn's 12 threads.
for _ in $(seq 1 16); do
    curl -s -o /dev/null -m 30 -w '%{http_code} %{time_total}\n' -b sessionid=smoke0123456789abcdefghijklmnopq \
        "$BASE_URL/patients/" >>"$WORK/hung" &
done
sleep 1
# It may queue behind requests holding every thread of its worker until their database deadline
# (5 s): within the HEALTHCHECK's 10 s is what counts.
healthz=$(curl -s -m 10 -o /dev/null -w '%{http_code} in %{time_total} s' "$BASE_URL/healthz")
check "hung database: /healthz answers within 10 s while requests wait ($healthz)" test "${healthz%% *}" = 200
check "hung database: /readyz answers 503 within 5 s" \
    test "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$BASE_URL/readyz")" = 503
wait
# shellcheck disable=SC2016 # awk's own fields, not the shell's
check "hung database: every request ends in 503 within 10 s ($(sort -k2 -n "$WORK/hung" | tail -1))" \
    awk '$1 != 503 || $2 > 10 { bad = 1 } END { exit bad || NR != 16 }' "$WORK/hung"
check "hung database: the container stays healthy" \
    test "$(docker inspect --format '{{.State.Health.Status}}' "$PREFIX-hung")" = healthy
docker rm -f -v "$PREFIX-hung" "$PREFIX-hungdb" >/dev/null 2>&1

if [ "$FAILED" != 0 ]; then
    echo "--- log of the failed checks' commands"
    tail -40 "$WORK/log"
    echo "docker smoke: FAIL"
    exit 1
fi
echo "docker smoke: PASS"
