# The clinic application: a slim, non-root image serving with gunicorn.
# Build: docker build -t clinic .   Run: see README "Deployment".
FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    PORT=8000

RUN groupadd --system clinic && useradd --system --gid clinic --home-dir /app --shell /usr/sbin/nologin clinic

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=clinic:clinic . .
# Static files are collected at build time and served by whitenoise; the key is only for this step.
RUN SECRET_KEY=collectstatic-only-not-a-real-key python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /data && chown clinic:clinic /data

USER clinic
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -m clinic.healthcheck

# Migrations run on release (each start); then gunicorn serves. WEB_CONCURRENCY sets the worker count.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn clinic.wsgi:application --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-3} --threads 4 --access-logfile - --forwarded-allow-ips='*'"]
