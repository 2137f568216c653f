"""The container's health check: `python -m clinic.healthcheck` exits 0 when the app answers /healthz.

/healthz is answered before host validation and the HTTPS redirect (clinic/health.py), so a plain
HTTP request to the container's own address is enough. Liveness only: a database restart must not
get the container killed; load balancers ask /readyz for that.

The wait is long on purpose: with the database hung, a request can sit in a worker's queue behind
requests that hold every thread until their database deadline (DB_CONNECT_TIMEOUT, 5 s), and
/healthz then answers after about 5 s (measured by docker/smoke.sh). The image's HEALTHCHECK allows 10 s.
"""

import os
import sys
import urllib.request


def main():
    port = os.environ.get("PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=9) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
