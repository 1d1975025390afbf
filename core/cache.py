"""A Redis cache that degrades to a miss when Redis is down (docs/security.md, "Faults").

The cache only speeds things up (the backup API's token lookup): with Redis stopped a
read is a miss, a write or delete is skipped with a warning, and the page still answers.
"""
import logging

from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

try:  # the redis package is a dependency; keep the import failure explicit if it is not
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
except ImportError:  # pragma: no cover
    REDIS_ERRORS = (OSError,)


def _resilient(name: str, fallback):
    method = getattr(RedisCache, name)

    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except REDIS_ERRORS as exc:
            logger.warning("Cache %s skipped, Redis unreachable: %s", name, exc)
            return fallback(*args, **kwargs) if callable(fallback) else fallback

    wrapper.__name__ = name
    return wrapper


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        params = {**params, "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, **params.get("OPTIONS", {})}}
        super().__init__(server, params)

    get = _resilient("get", lambda key, default=None, version=None: default)
    get_many = _resilient("get_many", lambda *a, **k: {})
    has_key = _resilient("has_key", False)
    add = _resilient("add", False)
    set = _resilient("set", None)
    set_many = _resilient("set_many", lambda data, *a, **k: list(data))
    touch = _resilient("touch", False)
    delete = _resilient("delete", False)
    delete_many = _resilient("delete_many", None)
    clear = _resilient("clear", None)
