"""Job-report ingestion API (K1, K2, K6): validation, idempotence, tokens, rate limit.

Every rejected report leaves the database as it was (no JobReport row).
"""
import copy
import datetime
import hashlib
import json
import os
import uuid
from unittest import mock

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings

from backups import api_tokens, services
from backups.models import ApiToken, JobReport

pytestmark = pytest.mark.django_db

URL = "/api/backups/reports/"
NOW = datetime.datetime(2026, 11, 28, 7, 0, tzinfo=datetime.UTC)

VALID = {
    "device": "pc-accueil",
    "job_id": "job-2026-11-27-001",
    "started_at": "2026-11-27T22:00:00+01:00",
    "ended_at": "2026-11-27T22:31:10+01:00",
    "status": "warning",
    "kind": "incremental",
    "bytes_transferred": 734003200,
    "bytes_stored": 52428800000,
    "files": 18234,
    "copies": {"mis": 1, "ovh": 1},
    "skipped": {"video": 12, "locked": 1},
}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def post(client, data, raw_token, **extra):
    body = data if isinstance(data, str | bytes) else json.dumps(data)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"} if raw_token else {}
    return client.post(URL, body, content_type="application/json", **headers, **extra)


def test_valid_report_is_stored_with_its_k1_and_k6_facts(client, device_a, token_a):
    response = post(client, VALID, token_a[1])
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True
    assert body["report"]["device"] == "pc-accueil"
    assert body["report"]["skipped_videos"] == 12
    report = JobReport.objects.get()
    assert report.device == device_a
    assert report.started_at == datetime.datetime(2026, 11, 27, 21, 0, tzinfo=datetime.UTC)
    assert report.ended_at == datetime.datetime(2026, 11, 27, 21, 31, 10, tzinfo=datetime.UTC)
    assert (report.status, report.kind) == ("warning", "incremental")
    assert (report.bytes_transferred, report.bytes_stored, report.files_count) == (734003200, 52428800000, 18234)
    assert report.replicated is True  # CGV K1: a copy on each of the two sites
    assert report.skipped == {"locked": 1, "video": 12}
    assert report.skipped_videos == 12  # CGV K6
    assert report.source == "api"


def test_missing_copy_on_the_second_site_is_stored_as_not_replicated(client, device_a, token_a):
    data = dict(VALID, copies={"mis": 1, "ovh": 0})
    assert post(client, data, token_a[1]).status_code == 201
    assert JobReport.objects.get().replicated is False


def test_retry_with_same_job_id_returns_the_existing_report_once(client, device_a, token_a):
    first = post(client, VALID, token_a[1])
    again = post(client, VALID, token_a[1])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["report"]["id"] == first.json()["report"]["id"]
    assert JobReport.objects.count() == 1


def test_same_job_id_with_other_content_is_a_conflict_and_changes_nothing(client, device_a, token_a):
    post(client, VALID, token_a[1])
    response = post(client, dict(VALID, status="failed"), token_a[1])
    assert response.status_code == 409
    assert response.json()["field"] == "job_id"
    assert JobReport.objects.get().status == "warning"


@pytest.mark.parametrize("field", services.REQUIRED_FIELDS)
def test_missing_field_is_a_400_naming_it_and_stores_nothing(client, device_a, token_a, field):
    data = copy.deepcopy(VALID)
    del data[field]
    response = post(client, data, token_a[1])
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["code"] == "missing"
    assert field in response.json()["error"]
    assert JobReport.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bytes_stored": "52428800000"}, "bytes_stored"),
        ({"bytes_transferred": 1.5}, "bytes_transferred"),
        ({"files": True}, "files"),
        ({"files": -1}, "files"),
        ({"files": 2**31}, "files"),  # integer column: a 400, not the database's out-of-range error
        ({"bytes_stored": 2**63}, "bytes_stored"),
        ({"skipped": {"video": 2**31}}, "skipped.video"),
        ({"job_id": 42}, "job_id"),
        ({"started_at": 1732744800}, "started_at"),
        ({"started_at": "hier soir"}, "started_at"),
        ({"ended_at": "2026-11-27T22:31:10"}, "ended_at"),  # no time zone
        ({"ended_at": "2026-11-27T20:00:00+01:00"}, "ended_at"),  # before the start
        ({"ended_at": "2026-11-29T22:00:00+01:00"}, "ended_at"),  # in the future
        ({"status": "ok"}, "status"),
        ({"status": 1}, "status"),
        ({"kind": "differential"}, "kind"),
        ({"copies": [1, 1]}, "copies"),
        ({"copies": {"mis": "1", "ovh": 1}}, "copies.mis"),
        ({"copies": {"mis": 1, "aws": 1}}, "copies.aws"),
        ({"skipped": {"video": "12"}}, "skipped.video"),
        ({"size": 12}, "size"),  # unknown field
    ],
)
def test_wrong_type_or_value_is_a_400_naming_the_field(client, device_a, token_a, changes, field):
    response = post(client, {**VALID, **changes}, token_a[1])
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert JobReport.objects.count() == 0


def test_body_that_is_not_json_or_not_an_object(client, device_a, token_a):
    assert post(client, "{not json", token_a[1]).json()["field"] == "body"
    assert post(client, "[1, 2]", token_a[1]).json()["field"] == "body"
    assert JobReport.objects.count() == 0


def test_unknown_device_is_refused(client, device_a, token_a):
    response = post(client, dict(VALID, device="pc-inconnu"), token_a[1])
    assert response.status_code == 400
    assert response.json()["field"] == "device"
    assert JobReport.objects.count() == 0


def test_another_clients_token_cannot_report_for_my_device(client, device_a, device_b, token_b):
    """Client B's token sees client A's device exactly like an unknown one."""
    response = post(client, VALID, token_b[1])
    assert response.status_code == 400
    assert response.json() == {
        "error": "Appareil inconnu pour ce jeton : « pc-accueil ».", "code": "unknown_device", "field": "device",
    }
    assert JobReport.objects.count() == 0


def test_device_token_only_reports_for_its_device(client, client_a, device_a, sub_a):
    from tests.factories.backups import DeviceFactory

    other = DeviceFactory(subscription=sub_a, hostname="pc-compta")
    _token, raw = services.api_token_create(actor=None, client=client_a, device=other, label="pc-compta only")
    assert post(client, VALID, raw).json()["field"] == "device"
    assert post(client, dict(VALID, device="pc-compta"), raw).status_code == 201


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc"])
def test_missing_or_bad_token_is_401(client, device_a, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(URL, json.dumps(VALID), content_type="application/json", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="backups"'
    assert JobReport.objects.count() == 0


def test_revoked_token_is_refused(client, device_a, token_a):
    token, raw = token_a
    assert services.api_token_revoke(actor=None, token=token, now=NOW) is True
    assert services.api_token_revoke(actor=None, token=token, now=NOW) is False
    assert post(client, VALID, raw).status_code == 401


def test_only_the_token_hash_is_stored(token_a):
    token, raw = token_a
    token.refresh_from_db()
    assert raw.startswith("misb_") and len(raw) > 40
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:12]
    assert not ApiToken.objects.filter(token_hash=raw).exists()


def test_rate_limit_per_token_answers_429_with_retry_after(client, device_a, token_a, token_b, device_b):
    token, raw = token_a
    ApiToken.objects.filter(pk=token.pk).update(rate_limit_per_minute=2)
    assert post(client, dict(VALID, job_id="1"), raw).status_code == 201
    assert post(client, dict(VALID, job_id="2"), raw).status_code == 201
    limited = post(client, dict(VALID, job_id="3"), raw)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"  # frozen at 07:00:00: the window ends in 60 s
    assert JobReport.objects.count() == 2
    # Another token has its own budget.
    assert post(client, dict(VALID, device="srv-b"), token_b[1]).status_code == 201
    with time_machine.travel(NOW + datetime.timedelta(seconds=61), tick=False):
        assert post(client, dict(VALID, job_id="3"), raw).status_code == 201


def test_get_is_not_allowed(client, token_a):
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token_a[1]}").status_code == 405


def test_a_report_is_one_sql_statement_once_the_token_is_cached(client, device_a, token_a, django_assert_num_queries):
    """The hot path: the device lookup, the K1 ``replicated`` fact and the idempotent insert are one
    ``INSERT … SELECT … ON CONFLICT DO NOTHING``; no audit, e-mail, savepoint or uniqueness query."""
    # First use: the token is read from the database (and its last use recorded), then the INSERT.
    with django_assert_num_queries(2) as first:
        assert post(client, dict(VALID, job_id="warm"), token_a[1]).status_code == 201
    assert first.captured_queries[0]["sql"].startswith("UPDATE")
    with django_assert_num_queries(1) as hot:
        assert post(client, VALID, token_a[1]).status_code == 201
    sql = hot.captured_queries[0]["sql"]
    assert sql.startswith("INSERT") and "ON CONFLICT" in sql and "RETURNING" in sql
    # A retry: the INSERT stores nothing, one SELECT finds the report already received.
    with django_assert_num_queries(2):
        assert post(client, VALID, token_a[1]).status_code == 200
    assert JobReport.objects.count() == 2


def test_hundred_reports_cost_hundred_statements(client, device_a, token_a, django_assert_num_queries):
    post(client, dict(VALID, job_id="warm"), token_a[1])
    with django_assert_num_queries(100):
        for n in range(100):
            assert post(client, dict(VALID, job_id=f"job-{n}"), token_a[1]).status_code == 201
    assert JobReport.objects.count() == 101


def test_token_last_use_is_recorded_when_the_token_is_loaded(client, device_a, token_a):
    token, raw = token_a
    assert token.last_used_at is None
    post(client, dict(VALID, job_id="1"), raw)
    token.refresh_from_db()
    assert token.last_used_at == NOW
    with time_machine.travel(NOW + datetime.timedelta(seconds=30), tick=False):
        post(client, dict(VALID, job_id="2"), raw)  # cached: no write
    token.refresh_from_db()
    assert token.last_used_at == NOW
    with time_machine.travel(NOW + datetime.timedelta(seconds=61), tick=False):
        cache.clear()  # the 60 s token cache entry has expired
        post(client, dict(VALID, job_id="3"), raw)
    token.refresh_from_db()
    assert token.last_used_at == NOW + datetime.timedelta(seconds=61)


def test_an_unknown_token_leaves_no_rate_counter(client, device_a):
    assert post(client, VALID, "misb_unknown").status_code == 401
    window = int(NOW.timestamp() // api_tokens.RATE_WINDOW_SECONDS)
    assert cache.get(api_tokens.rate_cache_key(api_tokens.token_hash("misb_unknown"), window)) is None


def test_device_limited_token_grant_survives_the_cache(client, client_a, device_a, sub_a):
    """The cached grant keeps the token's device restriction (cached as plain values, not a model)."""
    from tests.factories.backups import DeviceFactory

    other = DeviceFactory(subscription=sub_a, hostname="pc-compta")
    _token, raw = services.api_token_create(actor=None, client=client_a, device=other, label="pc-compta only")
    assert post(client, dict(VALID, device="pc-compta"), raw).status_code == 201  # loads and caches the grant
    assert post(client, dict(VALID, job_id="2"), raw).json()["field"] == "device"  # pc-accueil: refused
    assert post(client, dict(VALID, device="pc-compta", job_id="3"), raw).status_code == 201


def _redis_cache(location, prefix="test-backups"):
    """Django's Redis cache for the duration of a ``with`` block (keys under ``prefix``)."""
    return override_settings(CACHES={"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location, "KEY_PREFIX": prefix,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }})


def test_with_redis_token_and_rate_limit_are_one_round_trip(client, device_a, token_a):
    """Production's cache: the grant and the window's counter in one pipelined round trip."""
    import redis

    location = os.environ.get("BACKUPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
    try:
        redis.Redis.from_url(location, socket_connect_timeout=0.5).ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"needs Redis at {location} (BACKUPS_TEST_REDIS_URL)")
    token, raw = token_a
    ApiToken.objects.filter(pk=token.pk).update(rate_limit_per_minute=2)
    sent = []
    real_execute = redis.client.Pipeline.execute

    def counting_execute(pipe, *args, **kwargs):
        sent.append([command[0][0] for command in pipe.command_stack])
        return real_execute(pipe, *args, **kwargs)

    prefix = f"test-backups-{uuid.uuid4().hex}"
    with _redis_cache(location, prefix), mock.patch.object(redis.client.Pipeline, "execute", counting_execute):
        try:
            assert post(client, dict(VALID, job_id="1"), raw).status_code == 201
            assert post(client, dict(VALID, job_id="2"), raw).status_code == 201
            limited = post(client, dict(VALID, job_id="3"), raw)
            assert sent == [["GET", "SET", "INCRBY"]] * 3
            assert limited.status_code == 429 and limited["Retry-After"] == "60"
            assert JobReport.objects.count() == 2
            # Revoking deletes the cached grant: refused at once.
            services.api_token_revoke(actor=None, token=token, now=NOW)
            with time_machine.travel(NOW + datetime.timedelta(seconds=61), tick=False):
                assert post(client, dict(VALID, job_id="4"), raw).status_code == 401
        finally:
            server = redis.Redis.from_url(location)
            keys = list(server.scan_iter(match=f"{prefix}:*"))
            if keys:
                server.delete(*keys)  # this test's keys only (Django's clear() would FLUSHDB)


def test_with_redis_down_reports_are_still_accepted(client, device_a, token_a, caplog):
    """The cache only speeds things up: with Redis unreachable the token is read from the database
    and the report stored (not rate limited: the reverse proxy's limit still applies)."""
    with _redis_cache("redis://127.0.0.1:1/0"):
        assert post(client, VALID, token_a[1]).status_code == 201
    assert JobReport.objects.count() == 1
    assert "Redis unreachable" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_in_autocommit_a_retry_is_one_failed_insert_then_the_existing_report(client, device_a, token_a):
    """Outside a test transaction the API writes in autocommit: a single INSERT, no savepoint."""
    assert post(client, VALID, token_a[1]).status_code == 201
    again = post(client, VALID, token_a[1])
    assert again.status_code == 200 and again.json()["created"] is False
    assert post(client, dict(VALID, files=1), token_a[1]).status_code == 409
    assert JobReport.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_opt_in_asynchronous_commit_stores_the_report_the_same_way(client, device_a, token_a, settings):
    settings.BACKUPS_INGEST_ASYNC_COMMIT = True
    assert post(client, VALID, token_a[1]).status_code == 201
    assert post(client, VALID, token_a[1]).status_code == 200
    assert JobReport.objects.get().skipped_videos == 12
