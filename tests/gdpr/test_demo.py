"""Demo data of gdpr: a request in progress, a breach notified in two stages (idempotent)."""
import pytest
from django.core.management import call_command

from gdpr.choices import NotificationStage, RequestStatus
from gdpr.models import Breach, BreachNotification, DataSubjectRequest, ProcessingActivity

pytestmark = pytest.mark.django_db


def test_demo_has_a_request_in_progress_and_a_breach_with_initial_and_complement():
    call_command("demo_data")
    call_command("demo_data")
    request = DataSubjectRequest.objects.get()
    assert request.status == RequestStatus.FORWARDED and request.forwarded_at is not None
    assert request.forwarded_to == ["paul@boulangerie-lemoine.fr"]  # the bakery's designated contact (is_dpo)
    breach = Breach.objects.get()
    assert [n.stage for n in breach.notifications.all()] == [NotificationStage.INITIAL, NotificationStage.COMPLEMENT]
    assert BreachNotification.objects.count() == 2 and breach.subjects_approx == 52
    # Every demo client with a running contract has its register (maintenance at least).
    assert ProcessingActivity.objects.filter(code="maintenance").count() == 3
    assert ProcessingActivity.objects.filter(code="backup", client__name="Cabinet Durand Avocats").exists()
