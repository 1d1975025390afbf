"""Fixtures of the backup tests. Who is who:

- ``client_a`` has the subscription ``sub_a`` and the workstation ``device_a`` ("pc-accueil");
  ``token_a`` is client A's API token (raw secret in ``token_a[1]``).
- ``client_b`` has ``device_b`` ("srv-b"); ``token_b`` is client B's token: it must never
  reach client A's devices.
"""
import pytest
from django.core.cache import cache

from backups import services
from backups.choices import DeviceKind
from tests.factories.backups import BackupSubscriptionFactory, DeviceFactory
from tests.factories.contracts import ContractFactory


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # rate-limit counters
    yield
    cache.clear()


@pytest.fixture
def sub_a(client_a):
    return BackupSubscriptionFactory(contract=ContractFactory(client=client_a, has_backup=True))


@pytest.fixture
def device_a(sub_a):
    return DeviceFactory(subscription=sub_a, hostname="pc-accueil", kind=DeviceKind.WORKSTATION)


@pytest.fixture
def device_b(client_b):
    sub = BackupSubscriptionFactory(contract=ContractFactory(client=client_b, has_backup=True))
    return DeviceFactory(subscription=sub, hostname="srv-b", kind=DeviceKind.SERVER)


@pytest.fixture
def token_a(client_a):
    return services.api_token_create(actor=None, client=client_a, label="agent A")


@pytest.fixture
def token_b(client_b):
    return services.api_token_create(actor=None, client=client_b, label="agent B")
