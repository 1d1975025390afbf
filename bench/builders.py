"""The synthetic MSP of the scale benchmark, built with bulk inserts (``bulk_create`` in batches).

One call, :func:`build_msp`, fills an empty database with a business that has run for a while and is
about to go through the night of 1 January 2027 (:data:`NIGHT1`) and the night of 10 January
(:data:`NIGHT2`, when the January direct debits are batched):

- clients, one contact each (client 0's contact logs in to the portal), a staff superuser;
- contracts signed in 2025 (initial term to 31 December 2026: all renew and are revised on NIGHT1,
  CGV C1, C2, P3), monthly billing, two priced lines each;
- ``invoices // contracts`` monthly recurring invoices per contract up to December 2026, gapless
  numbers (with the matching ``NumberSequence`` rows), two lines each; 80 % of the clients pay by
  SEPA direct debit with an active mandate (L5), 5 % are in arrears on their last three invoices
  (B3) and the first of those have a formal notice that takes effect on NIGHT1;
- tickets, 98 % closed and 2 % open with their SLA clocks (S2) near their deadlines;
- backup subscriptions of five devices with ``report_days`` days of job reports each, one
  subscription in ten over its tier (K1, K7);
- domains with a certificate expiring within 60 days (H3), open data-subject requests (D3).

The same builder, at a tiny size, runs in ``tests/bench`` (query counts must not grow with rows).
"""
import dataclasses
import datetime
import hashlib
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.db import transaction

from billing import numbering
from billing.bench import _siren
from billing.choices import DocumentType, InvoiceKind, InvoiceStatus, PaymentMethod
from billing.models import Invoice, InvoiceLine, NumberSequence
from billing.rules import compute_totals
from billing.services import buyer_snapshot, seller_snapshot
from contracts import terms
from contracts.choices import BillingFrequency, ContactRole, ContractStatus
from contracts.models import Client, Contact, Contract, ContractLine, SyntecIndex
from core.dates import PARIS

D = datetime.date
NIGHT1 = D(2027, 1, 1)  # renewal, 1 January revision, January invoices, dunning, …
NIGHT2 = D(2027, 1, 10)  # the 15 January direct debits enter their batch (5 days ahead)
LAST_PERIOD = D(2026, 12, 1)  # last month already invoiced
BATCH = 5000
PASSWORD = "bench-2027-not-a-secret"  # noqa: S105 — benchmark database only
STAFF_USERNAME = "bench-admin"
LINES = (("Maintenance poste de travail", Decimal("4"), Decimal("35.00")),
         ("Maintenance serveur", Decimal("1"), Decimal("90.00")))
VAT = Decimal("20.00")
GB = 1024**3
PLACEHOLDER_PDF = "bench/placeholder.pdf"


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How big the synthetic MSP is (defaults: the sizes of issue #11)."""

    clients: int = 5_000
    contracts: int = 10_000
    invoices: int = 200_000
    tickets: int = 100_000
    devices: int = 10_000
    report_days: int = 30
    domains: int = 1_000
    gdpr_requests: int = 500
    formal_notices: int = 20
    portal_share: int = 50  # one contract in 50 belongs to client 0, the portal's (large) client


    def scaled(self, factor: float) -> "Sizes":
        values = {f.name: max(1, round(getattr(self, f.name) * factor)) for f in dataclasses.fields(self)}
        values["report_days"] = self.report_days
        values["portal_share"] = self.portal_share
        return Sizes(**values)

    @property
    def months(self) -> int:
        """Invoiced months per contract (at least one)."""
        return max(1, self.invoices // self.contracts)


@dataclasses.dataclass
class World:
    """What the measurements need from the built data."""

    sizes: Sizes
    staff_user: object
    portal_user: object
    portal_client: Client
    seconds: dict


def _bulk(model, rows, batch=BATCH):
    return model.objects.bulk_create(rows, batch_size=batch)


def _iban(n: int) -> str:
    """A valid French IBAN (RIB key and check digits), unique per ``n``."""
    from schwifty import IBAN

    return str(IBAN.generate("FR", bank_code="30006", branch_code="00001", account_code=f"{n:011d}")).replace(" ", "")


def _month(start: datetime.date, back: int) -> datetime.date:
    return start - relativedelta(months=back)


def _ensure_reference_data():
    """MIS's identity (core's demo profile, with its staff groups and demo staff), two Syntec indices."""
    import io

    from core import demo

    demo.load(today=NIGHT1, stdout=io.StringIO())
    for month, value, published in ((D(2025, 1, 1), "300.00", D(2025, 2, 28)),
                                    (D(2026, 10, 1), "306.30", D(2026, 11, 27))):
        SyntecIndex.objects.get_or_create(month=month, defaults={"value": Decimal(value), "published_on": published})


def build_msp(sizes: Sizes = Sizes(), *, log=lambda message: None) -> World:
    """Fill an empty database with the synthetic MSP; returns the users and client the measures log in as."""
    import time

    if Client.objects.exists() or Invoice.objects.exists():
        raise RuntimeError("build_msp needs an empty database (it would mix with existing clients).")
    seconds = {}

    def step(name, func):
        started = time.perf_counter()
        with transaction.atomic():
            result = func()
        seconds[name] = time.perf_counter() - started
        log(f"  built {name} in {seconds[name]:.1f} s")
        return result

    _ensure_reference_data()
    User = get_user_model()
    staff_user = User.objects.create_superuser(STAFF_USERNAME, "bench-admin@micro-info-service.fr", PASSWORD)
    clients, contracts = step("clients, contacts, contracts", lambda: _contracts(sizes))
    portal_user = User.objects.create_user("portail@client-bench-00000.example.fr",
                                           "portail@client-bench-00000.example.fr", PASSWORD)
    Contact.objects.filter(client=clients[0]).update(user=portal_user)
    step("invoices, mandates, formal notices", lambda: _invoices(sizes, clients, contracts))
    step("tickets", lambda: _tickets(sizes, contracts))
    step("backups", lambda: _backups(sizes, contracts))
    step("hosting, gdpr", lambda: _hosting_gdpr(sizes, clients))
    return World(sizes=sizes, staff_user=staff_user, portal_user=portal_user, portal_client=clients[0],
                 seconds=seconds)


def _contracts(sizes: Sizes):
    clients = _bulk(Client, [
        Client(name=f"Client bench {i:05d}", siren=_siren(i), address_line1=f"{i % 200 + 1} rue du Port",
               postal_code="83600", city="Fréjus", billing_email=f"compta@client-bench-{i:05d}.example.fr")
        for i in range(sizes.clients)
    ])
    _bulk(Contact, [
        Contact(client=c, last_name="Martin", first_name=f"Contact {i}", email=f"portail@client-bench-{i:05d}.example.fr",
                portal_role=ContactRole.ADMIN, is_billing_contact=True, is_technical_contact=True)
        for i, c in enumerate(clients)
    ])
    start = _month(LAST_PERIOD, sizes.months - 1)
    signed = min(start - datetime.timedelta(days=10), D(2025, 12, 20))  # initial term ends 31 December 2026
    end = terms.initial_term_end(signed)
    subscriptions = _subscription_count(sizes)
    contracts = _bulk(Contract, [
        Contract(client=clients[0 if j % sizes.portal_share == 0 else j % sizes.clients], reference=f"CT-BENCH-{j:06d}", signature_date=signed,
                 start_date=start, status=ContractStatus.ACTIVE, billing_frequency=BillingFrequency.MONTHLY,
                 has_backup=j < subscriptions, initial_term_end=end, current_period_start=start,
                 current_period_end=end, notice_deadline=terms.notice_deadline(end))
        for j in range(sizes.contracts)
    ])
    _bulk(ContractLine, [
        ContractLine(contract=c, position=p, description=d, quantity=q, unit_price=u)
        for c in contracts for p, (d, q, u) in enumerate(LINES)
    ])
    return clients, contracts


def _invoices(sizes: Sizes, clients, contracts):
    from payments.choices import MandateStatus
    from payments.models import FormalNotice, FormalNoticeInvoice, Mandate

    def arrears(i):  # 5 % of the clients owe their last three invoices
        return i % 20 == 1

    def mandate(i):  # 80 % pay by direct debit (the others, and those in arrears, by transfer)
        return i % 5 != 0 and not arrears(i)

    mandates = _bulk(Mandate, [
        Mandate(client=c, reference=f"RUM-BENCH-{i:05d}", debtor_name=c.name, iban=_iban(i), bic="AGRIFRPP",
                signed_on=D(2025, 3, 1), sequence="RCUR", status=MandateStatus.ACTIVE, last_collected_on=D(2026, 12, 15))
        for i, c in enumerate(clients) if mandate(i)
    ])
    rum = {m.client_id: m.reference for m in mandates}
    seller = seller_snapshot()
    buyers = {c.pk: buyer_snapshot(c) for c in clients}
    totals = compute_totals((q, u, VAT) for _d, q, u in LINES)
    index_of = {c.pk: i for i, c in enumerate(clients)}
    series = numbering.series_for(DocumentType.INVOICE)
    sequence: dict[int, int] = {}
    invoices, unpaid = [], []
    for back in range(sizes.months - 1, -1, -1):
        period = _month(LAST_PERIOD, back)
        period_end = period + relativedelta(months=1) - datetime.timedelta(days=1)
        for contract in contracts:
            i = index_of[contract.client_id]
            seq = sequence[period.year] = sequence.get(period.year, 0) + 1
            late = arrears(i) and back < 3
            debit = mandate(i)
            collection = period.replace(day=15) if debit else None
            due = collection or period + datetime.timedelta(days=30)
            invoice = Invoice(
                document_type=DocumentType.INVOICE, kind=InvoiceKind.RECURRING,
                status=InvoiceStatus.ISSUED if late else InvoiceStatus.PAID, series=series,
                fiscal_year=period.year, sequence=seq, number=numbering.format_number(series, period.year, seq),
                client_id=contract.client_id, contract=contract, period_start=period, period_end=period_end,
                issue_date=period, due_date=due, collection_date=collection,
                payment_method=PaymentMethod.DIRECT_DEBIT if debit else PaymentMethod.TRANSFER,
                mandate_reference=rum.get(contract.client_id, ""), seller=seller, buyer=buyers[contract.client_id],
                total_ht=totals["total_ht"], total_vat=totals["total_vat"], total_ttc=totals["total_ttc"],
                vat_breakdown=totals["vat_breakdown"],
                amount_paid=Decimal("0.00") if late else totals["total_ttc"], paid_at=None if late else due,
                issued_at=datetime.datetime.combine(period, datetime.time(1, 30), tzinfo=PARIS),
                pdf=PLACEHOLDER_PDF, pdf_sha256="0" * 64,  # rendered long ago (not re-queued by missing_pdfs)
            )
            invoices.append(invoice)
            if late:
                unpaid.append(invoice)
    _bulk(Invoice, invoices)
    _bulk(InvoiceLine, [
        InvoiceLine(invoice=inv, position=p, description=d, quantity=q, unit_price=u, vat_rate=VAT,
                    total_ht=(q * u).quantize(Decimal("0.01")), service_start=inv.period_start,
                    service_end=inv.period_end)
        for inv in invoices for p, (d, q, u) in enumerate(LINES)
    ])
    NumberSequence.objects.bulk_create([
        NumberSequence(series=series, year=year, last_number=last, last_issue_date=LAST_PERIOD
                       if year == LAST_PERIOD.year else D(year, 12, 1))
        for year, last in sequence.items()
    ])
    by_client: dict[int, list] = {}
    for inv in unpaid:
        by_client.setdefault(inv.client_id, []).append(inv)
    noticed = list(by_client)[:sizes.formal_notices]
    notices = _bulk(FormalNotice, [
        FormalNotice(client_id=client_id, sent_on=NIGHT1 - datetime.timedelta(days=40),
                     received_on=NIGHT1 - datetime.timedelta(days=37), applies_on=NIGHT1 - datetime.timedelta(days=1),
                     amount_due=sum(inv.total_ttc for inv in by_client[client_id]), tracking_number=f"1A{n:011d}")
        for n, client_id in enumerate(noticed)
    ])
    _bulk(FormalNoticeInvoice, [
        FormalNoticeInvoice(notice=notice, invoice=inv, balance=inv.total_ttc)
        for notice in notices for inv in by_client[notice.client_id]
    ])


def _tickets(sizes: Sizes, contracts):
    from interventions import sla
    from interventions.choices import Category, Channel, SlaState, TicketStatus
    from interventions.models import Ticket

    night = datetime.datetime.combine(NIGHT1, datetime.time(1, 30), tzinfo=PARIS)
    first = datetime.datetime.combine(_month(LAST_PERIOD, sizes.months - 1), datetime.time(9), tzinfo=PARIS)
    span = (night - first).total_seconds()
    rows = []
    for t in range(sizes.tickets):
        contract = contracts[t % len(contracts)]
        common = dict(client_id=contract.client_id, contract=contract, channel=Channel.PHONE, severity=2,
                      category=Category.HARDWARE, title=f"Poste {t % 97} ne démarre plus", sla_hours=24)
        if t % 50 == 0:  # 2 % still open, opened 1 to 97 hours before the night (some at risk or late by then)
            opened = night - datetime.timedelta(hours=1 + (t // 50 * 7) % 97)
            risk, deadline = sla.sla_times(opened_at=opened, hours=24, subdivision="", pauses=[])
            rows.append(Ticket(**common, status=TicketStatus.NEW, opened_at=opened, risk_at=risk,
                               deadline_at=deadline, sla_state=SlaState.ON_TRACK))
        else:
            opened = first + datetime.timedelta(seconds=span * t / sizes.tickets)
            rows.append(Ticket(**common, status=TicketStatus.CLOSED, opened_at=opened,
                               risk_at=opened + datetime.timedelta(hours=18),
                               deadline_at=opened + datetime.timedelta(hours=24), sla_state=SlaState.MET,
                               responded_at=opened + datetime.timedelta(hours=2),
                               resolved_at=opened + datetime.timedelta(hours=6)))
    _bulk(Ticket, rows)


def _subscription_count(sizes: Sizes) -> int:
    return min(sizes.contracts, max(1, sizes.devices // 5))


def _backups(sizes: Sizes, contracts):
    from backups.choices import DeviceKind, JobKind, JobStatus
    from backups.models import BackupPlan, BackupSubscription, BackupTier, Device, JobReport

    plan = BackupPlan.objects.create(name="Sauvegarde bench")
    tier = BackupTier.objects.create(plan=plan, capacity_gb=500, monthly_price=Decimal("50.00"))
    start = contracts[0].start_date
    subscriptions = _bulk(BackupSubscription, [
        BackupSubscription(contract=c, plan=plan, tier=tier, started_on=start)
        for c in contracts[:_subscription_count(sizes)]
    ])
    devices = _bulk(Device, [
        Device(subscription=subscriptions[d % len(subscriptions)],
               client_id=subscriptions[d % len(subscriptions)].contract.client_id, hostname=f"bench-{d:05d}",
               kind=DeviceKind.SERVER if d % 5 == 0 else DeviceKind.WORKSTATION)
        for d in range(sizes.devices)
    ])
    Device.objects.update(created_at=datetime.datetime.combine(start, datetime.time(12), tzinfo=PARIS))
    night = datetime.datetime.combine(NIGHT1, datetime.time(0, 30), tzinfo=PARIS)
    reports = []
    for d, device in enumerate(devices):
        over = (d % len(subscriptions)) % 10 == 0  # one subscription in ten stores more than its 500 GB
        stored = (130 if over else 60) * GB
        for day in range(sizes.report_days):
            ended = night - datetime.timedelta(days=day)
            failed = d % 20 == 3 and day == 0
            reports.append(JobReport(
                device=device, job_id=f"job-{day}", started_at=ended - datetime.timedelta(minutes=40), ended_at=ended,
                status=JobStatus.FAILED if failed else JobStatus.SUCCESS, kind=JobKind.INCREMENTAL,
                bytes_transferred=2 * GB, bytes_stored=stored, files_count=12_000, copies={"mis": 1, "ovh": 1},
                replicated=True, payload_hash=hashlib.sha256(f"{d}-{day}".encode()).hexdigest()))
            if len(reports) >= 50_000:
                _bulk(JobReport, reports)
                reports = []
    _bulk(JobReport, reports)


def _hosting_gdpr(sizes: Sizes, clients):
    from gdpr.choices import RequestKind, RequestStatus
    from gdpr.models import DataSubjectRequest
    from hosting.models import Certificate, Domain

    domains = _bulk(Domain, [
        Domain(client=clients[i % len(clients)], name=f"bench{i:05d}.example.fr",
               expires_on=NIGHT1 + datetime.timedelta(days=5 + i % 90), client_is_administrator=True)
        for i in range(sizes.domains)
    ])
    night = datetime.datetime.combine(NIGHT1, datetime.time(0), tzinfo=PARIS)
    _bulk(Certificate, [
        Certificate(domain=dom, pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                    subject=f"CN={dom.name}", issuer="CN=R11,O=Let's Encrypt,C=US", names=[dom.name],
                    serial_number=f"{i:032x}", fingerprint_sha256=hashlib.sha256(dom.name.encode()).hexdigest(),
                    not_valid_before=night - datetime.timedelta(days=30),
                    not_valid_after=night + datetime.timedelta(days=1 + i % 60))
        for i, dom in enumerate(domains)
    ])
    _bulk(DataSubjectRequest, [
        DataSubjectRequest(client=clients[i % len(clients)], kind=RequestKind.ACCESS, requester_name=f"Personne {i}",
                           requester_email=f"personne{i}@example.fr", description="Copie de mes données, svp.",
                           received_at=night - datetime.timedelta(days=i % 40),
                           due_date=NIGHT1 + datetime.timedelta(days=30 - i % 40), status=RequestStatus.FORWARDED)
        for i in range(sizes.gdpr_requests)
    ])
