"""Walking every URL pattern of the site, for tests that try them all."""

from django.urls import URLResolver, get_resolver


def walk_urls(resolver=None, namespace="", *, all_admin=False):
    """(full name, pattern) for every URL pattern, recursing into includes. The admin's own pages
    are skipped (unless all_admin) except its index: test_admin_access.py walks the rest."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk_urls(pattern, inner, all_admin=all_admin)
            continue
        name = f"{namespace}{pattern.name}" if pattern.name else None
        if namespace.startswith("admin:") and name != "admin:index" and not all_admin:
            continue
        yield name, pattern


MACHINE_NAMESPACES = ("api", "fhir")


def is_machine_url(name):
    """A URL of the JSON API (namespace "api" or "<app>_api") or of FHIR: answered to machines."""
    namespace = (name or "").split(":", 1)[0] if name and ":" in name else ""
    return namespace in MACHINE_NAMESPACES or namespace.endswith("_api")
