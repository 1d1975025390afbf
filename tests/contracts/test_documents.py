"""CGV G1: the contract is the CGV + order form + special conditions + options; each signed document stays attached."""
import datetime

import pytest
from django.urls import reverse

from contracts.choices import ContractDocumentKind
from contracts.models import ContractDocument
from tests.factories.contracts import ContractFactory

pytestmark = pytest.mark.django_db


def test_g1_signed_documents_stay_attached_and_are_shown_to_the_client(client, portal_user, client_a):
    contract = ContractFactory(client=client_a)
    for kind, title in [
        (ContractDocumentKind.CGV, "Conditions générales de vente"),
        (ContractDocumentKind.ORDER_FORM, "Bon de commande n° 42"),
        (ContractDocumentKind.OPTION, "Annexe option sauvegarde"),
    ]:
        ContractDocument.objects.create(
            contract=contract, kind=kind, title=title, version="CGV 2026-01", signed_on=datetime.date(2026, 3, 15)
        )
    assert list(contract.documents.values_list("kind", flat=True)) == ["cgv", "option", "order_form"]
    client.force_login(portal_user)
    body = client.get(reverse("portal:contract_detail", args=[contract.pk])).content.decode()
    for title in ["Conditions générales de vente", "Bon de commande n° 42", "Annexe option sauvegarde"]:
        assert title in body
