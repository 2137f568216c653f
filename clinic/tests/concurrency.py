"""Running one action in several threads released at the same instant (race tests on both databases)."""

import threading

from django.db import connection


def at_once(action, count):
    """Run action(i) in `count` threads released together; return each result or exception."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def worker(i):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            outcomes[i] = action(i)
        except Exception as exc:  # noqa: BLE001 - every outcome is inspected by the test
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes
