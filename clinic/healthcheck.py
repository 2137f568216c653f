"""The container's health check: `python -m clinic.healthcheck` exits 0 when the app answers /healthz.

/healthz is answered before host validation and the HTTPS redirect (clinic/health.py), so a plain
HTTP request to the container's own address is enough. Liveness only: a database restart must not
get the container killed; load balancers ask /readyz for that.
"""

import os
import sys
import urllib.request


def main():
    port = os.environ.get("PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
