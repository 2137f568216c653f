"""The container's health check: `python -m clinic.healthcheck` exits 0 when the app answers.

It asks the sign-in page as the proxy would (an allowed host, X-Forwarded-Proto: https), so the
HTTPS redirect and host validation of production settings do not make a healthy app look sick.
"""

import os
import sys
import urllib.request


def main():
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".") or "localhost"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/accounts/login/",  # noqa: S310 (a fixed local address)
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
