# The clinic application: a slim image that runs as a non-root user and serves with gunicorn.
#   docker build -t clinic .     (BuildKit: the default since Docker 23; DOCKER_BUILDKIT=1 before)
# Tried on SQLite and PostgreSQL by docker/smoke.sh (make docker-smoke).
# How to run it (environment, release command, health checks, volumes): docs/deployment.md.
# One server with PostgreSQL beside it: docker-compose.yml.

# --- Build: every requirement as a wheel, installed into a virtualenv -------------------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Every pinned requirement ships binary wheels for Linux (x86-64 and arm64), so no compiler is
# needed. A future one without a wheel would need `apt-get install build-essential` here, in the
# build stage only: nothing of this stage but /opt/venv reaches the runtime image. The app needs
# neither pip nor setuptools at run time: they leave (23 MB, and two packages less to patch).
# A build host whose outgoing HTTPS passes through an inspecting proxy gives pip that proxy's CA
# bundle as a build secret (docker/smoke.sh does: --secret id=pip_cert,src=/etc/ssl/certs/...);
# a secret never reaches a layer. Without it, pip uses its own CA list, as on any normal host.
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=secret,id=pip_cert,required=false \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip wheel --wheel-dir /tmp/wheels -r /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-index --find-links /tmp/wheels -r /tmp/requirements.txt \
    && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

# --- Runtime --------------------------------------------------------------------------------
# Same base as the build stage, so the virtualenv's interpreter links are valid here.
FROM python:3.11-slim-bookworm

# DATA_DIR and MEDIA_ROOT: the /data volume. PORT and WEB_CONCURRENCY are read by gunicorn itself
# (it binds 0.0.0.0:$PORT and starts $WEB_CONCURRENCY workers), so a platform can set them.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DATA_DIR=/data \
    MEDIA_ROOT=/data/media \
    PORT=8000 \
    WEB_CONCURRENCY=3 \
    RUN_MIGRATIONS=1

# pg_dump and pg_restore for `manage.py backup` and `restore` (Debian bookworm: PostgreSQL 15's
# client, which dumps servers up to 15; see docs/deployment.md for a newer server). Not pinned to a
# version: Debian replaces a package's old versions in its archive with each security update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric id, so orchestrators can check "runs as non-root" (Kubernetes runAsNonRoot).
# /data holds uploaded files (a volume), /backups is where `manage.py backup` writes in compose;
# a new named volume takes these folders' owner, so the app's user can write to both.
RUN groupadd --system --gid 10001 clinic \
    && useradd --system --uid 10001 --gid clinic --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin clinic \
    && mkdir -p /data/media /backups \
    && chown -R clinic:clinic /data /backups

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root: the app's user can read it, not change it; it writes only to /data.
COPY . .
# Static files are collected at build time and served by whitenoise from gunicorn. The key only
# lets the settings load for this step; a real one is given at run time (SECRET_KEY).
RUN SECRET_KEY=collectstatic-only-not-a-real-key python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q /app

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

# Liveness: /healthz answers without touching the database, so a database restart does not get
# the container killed. Readiness for a load balancer is /readyz (docs/deployment.md). The first
# check comes one interval after start (Docker before 25 has no --start-interval), so the interval
# is short: healthy about 10 s after start instead of 30; a check costs a few milliseconds. The
# timeout outlasts the database deadlines, which a request may queue behind (clinic/healthcheck.py).
# The same image runs the background worker (`python manage.py run_worker`, its own container: docker-compose.yml);
# there the check is whether this worker is alive (`manage.py worker_status --local`: it beat within 2 minutes),
# chosen by the command the container runs. That check starts Django (about a second of CPU): give a worker's
# container --health-interval=60s (compose does).
HEALTHCHECK --interval=10s --timeout=10s --start-period=60s --retries=3 \
    CMD ["/bin/sh", "-c", "if grep -qa run_worker /proc/1/cmdline; then exec python manage.py worker_status --local >/dev/null; else exec python -m clinic.healthcheck; fi"]

# Before the web server starts, migrations are applied ("release"), unless RUN_MIGRATIONS=0 (a worker started
# beside it waits until they are applied, and never migrates itself): set
# that when the platform runs `python manage.py migrate --noinput` as its release command, and
# always when several replicas start at once. Other commands (`docker run -it clinic python manage.py
# createsuperuser`, `... backup /backups`) run as given, without migrating first.
ENTRYPOINT ["/bin/sh", "-c", "if [ \"$1\" = gunicorn ] && [ \"${RUN_MIGRATIONS:-1}\" = 1 ]; then python manage.py migrate --noinput || exit 1; fi; exec \"$@\"", "clinic-entrypoint"]

# gthread workers: WEB_CONCURRENCY processes (about one per core, plus one) of 4 threads each; a
# worker silent for 60 s is replaced; workers are recycled after ~1,000 requests (image decoding
# can leave a process large); X-Forwarded-* trusted from the proxy in front. Logs go to the
# container's output: gunicorn's own, and the app's, which has one access line per request
# (logger clinic.access: LOG_FORMAT json by default, with the request id). gunicorn's access log
# stays off: it would repeat each line, with the query string and Referer, and a patient search
# is ?q=<name>, which the app's logs never hold.
CMD ["gunicorn", "clinic.wsgi:application", \
     "--worker-class", "gthread", "--threads", "4", \
     "--timeout", "60", "--graceful-timeout", "30", "--keep-alive", "5", \
     "--max-requests", "1000", "--max-requests-jitter", "100", \
     "--worker-tmp-dir", "/dev/shm", \
     "--forwarded-allow-ips", "*"]
