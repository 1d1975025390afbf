"""API tokens on the ingestion hot path: who is calling, and how often, in one cache round trip.

A request to ``POST /api/backups/reports/`` needs the token's grant (client, optional device,
rate limit) and one more hit in the token's current one-minute window. With Redis (production)
both come from a single pipelined round trip (``GET`` grant, ``SET NX EX`` + ``INCR`` counter) on
one Redis client kept per process; Django's cache API would cost four round trips and build a new
Redis client object for each. Other cache backends (tests, development) use Django's cache API.

The grant is cached 60 s under :func:`token_cache_key`; revoking deletes that key (see
``services.api_token_revoke``), so with Redis a revoked token is refused at once, and with
per-process memory caches within 60 s. On a cache miss one ``UPDATE … RETURNING`` finds the
token and records ``last_used_at`` (exact to the minute while the token is in use).
"""
import datetime
import hashlib
import logging
import math
import weakref
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from redis.exceptions import RedisError

from backups.models import ApiToken

logger = logging.getLogger(__name__)

TOKEN_CACHE_SECONDS = 60
RATE_WINDOW_SECONDS = 60


def token_hash(raw: str) -> str:
    """SHA-256 of an API token: the token has 256 bits of entropy, so a fast hash is enough."""
    return hashlib.sha256(raw.encode()).hexdigest()


def token_cache_key(digest: str) -> str:
    return f"backups:api-token:{digest}"


def rate_cache_key(digest: str, window: int) -> str:
    return f"backups:api-rate:{digest}:{window}"


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a request authenticated by an API token may do: report for ``client_id`` (only for
    ``device_id`` if set), at most ``rate_limit_per_minute`` times a minute."""

    pk: int
    client_id: int
    device_id: int | None
    rate_limit_per_minute: int

    def dumps(self) -> str:
        return f"{self.pk},{self.client_id},{self.device_id or ''},{self.rate_limit_per_minute}"

    @classmethod
    def loads(cls, value: str) -> "TokenGrant":
        pk, client_id, device_id, limit = value.split(",")
        return cls(int(pk), int(client_id), int(device_id) if device_id else None, int(limit))


def authenticate(raw: str, *, now: datetime.datetime) -> tuple[TokenGrant | None, int]:
    """The active token matching ``raw`` (or ``None``) and its number of requests in the current
    minute, this one included (0 for an invalid token: unknown tokens leave no counter behind)."""
    if not raw:
        return None, 0
    digest = token_hash(raw)
    window = int(now.timestamp() // RATE_WINDOW_SECONDS)
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return _authenticate_redis(backend, digest=digest, window=window, now=now)
    token_key, rate_key = token_cache_key(digest), rate_cache_key(digest, window)
    value = backend.get(token_key)
    hits = _hit(backend, rate_key)
    if value is None:
        grant = _token_touch(digest=digest, now=now)
        if grant is None:
            backend.delete(rate_key)
            return None, 0
        backend.set(token_key, grant.dumps(), TOKEN_CACHE_SECONDS)
        return grant, hits
    return TokenGrant.loads(value), hits


def retry_after(grant: TokenGrant, *, hits: int, now: datetime.datetime) -> int:
    """Seconds until the next window if ``hits`` exceeds the token's limit, else 0 (fixed one-minute window)."""
    if hits <= grant.rate_limit_per_minute:
        return 0
    ts = now.timestamp()
    return max(1, math.ceil((int(ts // RATE_WINDOW_SECONDS) + 1) * RATE_WINDOW_SECONDS - ts))


def _hit(backend, key: str) -> int:
    try:
        return backend.incr(key)
    except ValueError:  # first hit of the window (or evicted)
        if backend.add(key, 1, timeout=RATE_WINDOW_SECONDS * 2):
            return 1
        return backend.incr(key)  # created meanwhile by another request


_redis_clients: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _redis_client(backend: RedisCache):
    """One Redis client per cache backend instance (Django builds a new one for every operation)."""
    inner = backend._cache  # Django's RedisCacheClient: owns the connection pools
    client = _redis_clients.get(inner)
    if client is None:
        client = _redis_clients[inner] = inner.get_client(None, write=True)
    return client


def _authenticate_redis(backend: RedisCache, *, digest: str, window: int, now: datetime.datetime):
    token_key = backend.make_and_validate_key(token_cache_key(digest))
    rate_key = backend.make_and_validate_key(rate_cache_key(digest, window))
    try:
        client = _redis_client(backend)
        pipe = client.pipeline(transaction=False)
        pipe.get(token_key)
        pipe.set(rate_key, 0, ex=RATE_WINDOW_SECONDS * 2, nx=True)  # the window's counter, with its expiry
        pipe.incr(rate_key)
        value, _created, hits = pipe.execute()
    except (RedisError, OSError) as exc:
        # The cache only speeds things up: read the token from the database and do not rate limit
        # (the reverse proxy's limit still applies) rather than refuse backup reports.
        logger.warning("Backup API token cache and rate limit skipped, Redis unreachable: %s", exc)
        return _token_touch(digest=digest, now=now), 1
    if value is not None:
        return TokenGrant.loads(value.decode()), hits
    grant = _token_touch(digest=digest, now=now)
    try:
        if grant is None:
            client.delete(rate_key)
            return None, 0
        client.set(token_key, grant.dumps(), ex=TOKEN_CACHE_SECONDS)
    except (RedisError, OSError) as exc:
        logger.warning("Backup API token not cached, Redis unreachable: %s", exc)
    return grant, hits


def _token_touch(*, digest: str, now: datetime.datetime) -> TokenGrant | None:
    """The active token with this hash, its ``last_used_at`` set to ``now``: one ``UPDATE … RETURNING``
    (PostgreSQL, SQLite ≥ 3.35). A lookup after a revocation committed finds nothing."""
    connection = transaction.get_connection()
    meta, qn = ApiToken._meta, connection.ops.quote_name

    def col(name):
        return qn(meta.get_field(name).column)

    sql = (f"UPDATE {qn(meta.db_table)} SET {col('last_used_at')} = %s "
           f"WHERE {col('token_hash')} = %s AND {col('revoked_at')} IS NULL "
           f"RETURNING {col('id')}, {col('client')}, {col('device')}, {col('rate_limit_per_minute')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [meta.get_field("last_used_at").get_db_prep_save(now, connection), digest])
        row = cursor.fetchone()
    return TokenGrant(*row) if row else None
