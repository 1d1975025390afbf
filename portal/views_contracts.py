"""Portal pages of the contracts: list, detail (terms, options, prices, revisions, documents,
equipment, CGV C3 notice explanation), signed documents, equipment list."""
import mimetypes

from django.http import FileResponse, Http404
from django.shortcuts import render

from contracts import selectors, terms
from contracts.choices import ContractStatus, TerminationStatus
from contracts.models import Contract, ContractDocument
from core.dates import business_today
from core.money import money
from portal.access import BILLING, TECHNICAL, portal_view

RUNNING = (ContractStatus.ACTIVE, ContractStatus.SUSPENDED)


@portal_view(BILLING)
def contract_list(request):
    today = business_today()
    contracts = list(selectors.contracts_for_client(request.client))
    for contract in contracts:
        contract.monthly_amount = selectors.contract_monthly_amount(contract, today)
    return render(request, "portal/contracts/list.html", {"contracts": contracts, "today": today})


def notice_explanation(contract: Contract, today) -> dict | None:
    """CGV C2/C3 in the contract's own dates: the term, the last day for the registered letter,
    and when a later letter takes effect."""
    if contract.status not in RUNNING or not contract.current_period_end:
        return None
    term_end = contract.current_period_end
    deadline = contract.notice_deadline or terms.notice_deadline(term_end)
    following_end = terms.next_period(term_end)[1]
    return {
        "term_end": term_end,
        "deadline": deadline,
        "following_end": following_end,
        "following_deadline": terms.notice_deadline(following_end),
        "deadline_passed": today > deadline,
        "days_left": (deadline - today).days,
    }


@portal_view(BILLING)
def contract_detail(request, contract_id: int):
    try:
        contract = selectors.contract_detail_for_client(request.client, contract_id)
    except Contract.DoesNotExist as exc:
        raise Http404 from exc
    today = business_today()
    lines = selectors.contract_lines_valid_on(contract, today)
    for line in lines:
        line.line_total = money(line.quantity * line.unit_price)
    context = {
        "contract": contract,
        "today": today,
        "lines": lines,
        "monthly_amount": selectors.contract_monthly_amount(contract, today),
        "notice": notice_explanation(contract, today),
        "pending_termination": next(
            (t for t in contract.terminations.all() if t.status == TerminationStatus.RECORDED), None
        ),
        "open_suspension": next((s for s in contract.suspensions.all() if s.resumed_at is None), None),
    }
    return render(request, "portal/contracts/detail.html", context)


@portal_view(BILLING)
def contract_document(request, contract_id: int, document_id: int):
    try:
        contract = selectors.contracts_for_client(request.client).get(pk=contract_id)
        document = contract.documents.get(pk=document_id)
    except (Contract.DoesNotExist, ContractDocument.DoesNotExist) as exc:
        raise Http404 from exc
    if not document.file:
        raise Http404
    name = document.file.name.rsplit("/", 1)[-1]
    return FileResponse(
        document.file.open("rb"), filename=name, content_type=mimetypes.guess_type(name)[0] or "application/pdf"
    )


@portal_view(TECHNICAL)
def equipment_list(request):
    return render(
        request,
        "portal/contracts/equipment.html",
        {"equipment": selectors.equipment_for_client(request.client), "today": business_today()},
    )
