"""Walk the URL resolver: every pattern of the ``portal`` namespace, and every staff (non-portal) route."""
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class PortalPattern:
    name: str
    kwargs: tuple[str, ...]
    roles: tuple[str, ...] | None  # None: not a portal_view (public page)


def _walk(patterns, namespace=None, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            yield from _walk(p.url_patterns, ns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield namespace, prefix + str(p.pattern), p


def portal_patterns() -> list[PortalPattern]:
    """Every named pattern of the portal namespace, with its URL arguments and the roles it requires."""
    found = []
    for namespace, _route, p in _walk(get_resolver().url_patterns):
        if namespace != "portal":
            continue
        assert p.name, f"portal pattern without a name: {p.pattern}"
        kwargs = tuple(getattr(p.pattern, "converters", None) or p.pattern.regex.groupindex)
        roles = getattr(p.callback, "portal_roles", None)
        found.append(PortalPattern(name=p.name, kwargs=kwargs, roles=roles))
    return found


def non_portal_routes() -> list[str]:
    """The route prefixes of everything that is not the portal (admin, API, language switch…)."""
    return sorted({route for namespace, route, _p in _walk(get_resolver().url_patterns) if namespace != "portal"})
