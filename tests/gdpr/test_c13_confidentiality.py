"""CGV C13 (art. 10): confidentiality survives the contract — stated in the register the client receives."""
import pytest

from gdpr import documents, services
from gdpr.models import ProcessingActivity
from gdpr.register import SECURITY_MEASURES
from tests.factories.contracts import ContractFactory

pytestmark = pytest.mark.django_db


def test_c13_every_register_line_states_confidentiality_continues_after_the_contract(client_a):
    ContractFactory(client=client_a, has_backup=True, has_hosting=True)
    services.register_sync()
    lines = list(ProcessingActivity.objects.filter(client=client_a))
    assert len(lines) == 3
    clause = "obligation de confidentialité des personnels, y compris après le contrat (C13)"
    assert clause in SECURITY_MEASURES
    assert all(clause in line.security_measures for line in lines)
    assert documents.register_csv(client_a, lines).count(clause) == 3
