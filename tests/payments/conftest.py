import datetime

import pytest

from tests.factories.payments import MandateFactory


@pytest.fixture
def mandate(provider, client_a):
    return MandateFactory(client=client_a, reference="RUM-LEMOINE-2025-01", signed_on=datetime.date(2025, 1, 10))
