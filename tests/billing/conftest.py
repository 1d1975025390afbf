"""Fixtures of the billing tests. ``staff``: the test client logged in as a MIS superuser (``staff_user``)."""
import pytest


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client
