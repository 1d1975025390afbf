"""What the portal issue will call: tickets scoped by client, and ticket_open from the portal.

client_a's contact sees only client A's tickets; client B's ticket is DoesNotExist (a 404) for them.
"""
import datetime
from zoneinfo import ZoneInfo

import pytest

from interventions import selectors, services
from interventions.choices import Category, Channel, Severity
from interventions.models import Ticket
from tests.factories.contracts import ContactFactory, ContractFactory

PARIS = ZoneInfo("Europe/Paris")


def test_portal_ticket_open_and_scoping(client_a, client_b, portal_user):
    ContractFactory(client=client_a)
    contact = portal_user.contact
    ticket = services.ticket_open(client=client_a, contact=contact, site=None, equipment=None,
                                  severity=Severity.MINOR, category=Category.HARDWARE, title="Écran qui clignote",
                                  description="Depuis ce matin", channel=Channel.PORTAL, actor=portal_user,
                                  now=datetime.datetime(2026, 11, 30, 10, tzinfo=PARIS))
    assert ticket.channel == Channel.PORTAL and ticket.contact == contact
    other = services.ticket_open(client=client_b, severity=Severity.MINOR, category=Category.HARDWARE,
                                 title="Autre client", channel=Channel.EMAIL, actor=None,
                                 now=datetime.datetime(2026, 11, 30, 10, tzinfo=PARIS))
    assert list(selectors.tickets_for_client(client_a)) == [ticket]
    with pytest.raises(Ticket.DoesNotExist):
        selectors.ticket_for_client(client_a, other.pk)


def test_portal_does_not_see_internal_comments(client_a, django_assert_num_queries):
    ContractFactory(client=client_a)
    ticket = services.ticket_open(client=client_a, severity=Severity.MINOR, category=Category.HARDWARE,
                                  title="Souris", channel=Channel.PORTAL, actor=None,
                                  now=datetime.datetime(2026, 11, 30, 10, tzinfo=PARIS))
    services.ticket_comment_add(ticket=ticket, author=None, body="Note interne", is_internal=True)
    services.ticket_comment_add(ticket=ticket, author=None, body="Nous passons demain")
    # ticket with joins, its public comments, its interventions, its visible attachments
    with django_assert_num_queries(4):
        loaded = selectors.ticket_for_client(client_a, ticket.pk)
        bodies = [c.body for c in loaded.comments.all()]
        list(loaded.interventions.all())
        assert loaded.client_attachments == []
    assert bodies == ["Nous passons demain"]


def test_portal_contact_of_another_client_is_refused(client_a, client_b):
    ContractFactory(client=client_a)
    from interventions.exceptions import InterventionError

    with pytest.raises(InterventionError):
        services.ticket_open(client=client_a, contact=ContactFactory(client=client_b), severity=Severity.MINOR,
                             category=Category.HARDWARE, title="x", channel=Channel.PORTAL, actor=None,
                             now=datetime.datetime(2026, 11, 30, 10, tzinfo=PARIS))
