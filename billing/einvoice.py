"""Factur-X (EN 16931 profile): the CII XML of an issued invoice, built from its snapshot only (L4).

The XML is embedded in the PDF/A-3b by the ``factur-x`` library
(``facturx.generate_from_binary``, AFRelationship "Alternative" as the EN 16931
profile requires), which checks it against the Factur-X XSD first. A credit
note is type 381 with positive amounts (EN 16931 semantics); the negated
quantities of our credit-note lines are turned back to positive here.
"""
from decimal import Decimal

from lxml import etree

from billing.choices import PaymentMethod

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
SIREN_SCHEME = "0002"  # ISO 6523 ICD of the French SIRENE register


def _el(parent, tag, text=None, **attrs):
    prefix, name = tag.split(":")
    node = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attrs)
    if text is not None:
        node.text = str(text)
    return node


def _amount(value) -> str:
    return f"{Decimal(value):.2f}"


def _date(parent, tag, day, *, qualified=False):
    wrapper = _el(parent, tag)
    _el(wrapper, "qdt:DateTimeString" if qualified else "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _period(parent, start, end):
    if start and end:
        period = _el(parent, "ram:BillingSpecifiedPeriod")
        _date(period, "ram:StartDateTime", start)
        _date(period, "ram:EndDateTime", end)


def _category(rate) -> tuple[str, str | None]:
    """VAT category (UNTDID 5305) and rate: S standard/reduced, Z zero, O outside the scope of VAT."""
    if rate is None:
        return "O", None
    if Decimal(rate) == 0:
        return "Z", "0.00"
    return "S", _amount(rate)


def _party(parent, tag, party: dict, *, name_key: str, with_vat: bool):
    node = _el(parent, tag)
    _el(node, "ram:Name", party.get(name_key, ""))
    if party.get("siren"):
        legal = _el(node, "ram:SpecifiedLegalOrganization")
        _el(legal, "ram:ID", party["siren"], schemeID=SIREN_SCHEME)
    address = _el(node, "ram:PostalTradeAddress")
    _el(address, "ram:PostcodeCode", party.get("postal_code", ""))
    _el(address, "ram:LineOne", party.get("address_line1", ""))
    if party.get("address_line2"):
        _el(address, "ram:LineTwo", party["address_line2"])
    _el(address, "ram:CityName", party.get("city", ""))
    _el(address, "ram:CountryID", party.get("country") or "FR")
    email = party.get("email") or party.get("billing_email")
    if email:
        uri = _el(node, "ram:URIUniversalCommunication")
        _el(uri, "ram:URIID", email, schemeID="EM")
    if with_vat and party.get("vat_number"):
        tax = _el(node, "ram:SpecifiedTaxRegistration")
        _el(tax, "ram:ID", party["vat_number"], schemeID="VA")
    return node


def invoice_cii_xml(invoice, lines) -> bytes:
    """The CII XML (Factur-X EN 16931) of an issued invoice or credit note."""
    sign = Decimal("-1") if invoice.is_credit_note else Decimal("1")
    out_of_scope = all(line.vat_rate is None for line in lines)
    seller, buyer = invoice.seller, invoice.buyer
    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)

    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931_GUIDELINE)

    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ram:ID", invoice.number)
    _el(document, "ram:TypeCode", "381" if invoice.is_credit_note else "380")
    _date(document, "ram:IssueDateTime", invoice.issue_date)
    if invoice.notes:
        _el(_el(document, "ram:IncludedNote"), "ram:Content", invoice.notes)

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for index, line in enumerate(lines, start=1):
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", index)
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
        agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
        _el(_el(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", _amount(line.unit_price))
        delivery = _el(item, "ram:SpecifiedLineTradeDelivery")
        _el(delivery, "ram:BilledQuantity", f"{line.quantity * sign:.2f}", unitCode="C62")
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:TypeCode", "VAT")
        category, rate = _category(line.vat_rate)
        _el(tax, "ram:CategoryCode", category)
        if rate is not None:
            _el(tax, "ram:RateApplicablePercent", rate)
        _period(settlement, line.service_start, line.service_end)
        summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _el(summation, "ram:LineTotalAmount", _amount(line.total_ht * sign))

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    if invoice.purchase_order_ref:
        _el(agreement, "ram:BuyerReference", invoice.purchase_order_ref)
    # BR-O-02/03: an invoice outside the scope of VAT carries no VAT identifier in the XML.
    _party(agreement, "ram:SellerTradeParty", seller, name_key="legal_name", with_vat=not out_of_scope)
    _party(agreement, "ram:BuyerTradeParty", buyer, name_key="name", with_vat=not out_of_scope)
    if invoice.purchase_order_ref:
        _el(_el(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID", invoice.purchase_order_ref)
    contract_ref = (invoice.contract.reference if invoice.contract_id else "")
    if contract_ref:
        _el(_el(agreement, "ram:ContractReferencedDocument"), "ram:IssuerAssignedID", contract_ref)

    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    delivered_on = invoice.period_start or (lines[0].service_start if lines and lines[0].service_start else None)
    if delivered_on:
        event = _el(delivery, "ram:ActualDeliverySupplyChainEvent")
        _date(event, "ram:OccurrenceDateTime", delivered_on)

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    method = PaymentMethod(invoice.payment_method)
    if method == PaymentMethod.DIRECT_DEBIT and seller.get("sepa_creditor_id"):
        _el(settlement, "ram:CreditorReferenceID", seller["sepa_creditor_id"])
    _el(settlement, "ram:PaymentReference", invoice.number)
    _el(settlement, "ram:InvoiceCurrencyCode", "EUR")
    means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    _el(means, "ram:TypeCode", method.untdid_4461)
    if method == PaymentMethod.TRANSFER and seller.get("iban"):
        _el(_el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", seller["iban"])
    for row in invoice.vat_breakdown:
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", _amount(Decimal(row["vat"]) * sign))
        _el(tax, "ram:TypeCode", "VAT")
        category, rate = _category(row["rate"])
        if category == "O":
            _el(tax, "ram:ExemptionReason", "Hors champ d'application de la TVA")
        _el(tax, "ram:BasisAmount", _amount(Decimal(row["base"]) * sign))
        _el(tax, "ram:CategoryCode", category)
        if category == "O":
            _el(tax, "ram:ExemptionReasonCode", "VATEX-EU-O")
        if rate is not None:
            _el(tax, "ram:RateApplicablePercent", rate)
    _period(settlement, invoice.period_start, invoice.period_end)
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    _el(terms, "ram:Description", payment_terms_text(invoice))
    if invoice.due_date:
        _date(terms, "ram:DueDateDateTime", invoice.due_date)
    if method == PaymentMethod.DIRECT_DEBIT and invoice.mandate_reference:
        _el(terms, "ram:DirectDebitMandateID", invoice.mandate_reference)
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(summation, "ram:LineTotalAmount", _amount(invoice.total_ht * sign))
    _el(summation, "ram:TaxBasisTotalAmount", _amount(invoice.total_ht * sign))
    _el(summation, "ram:TaxTotalAmount", _amount(invoice.total_vat * sign), currencyID="EUR")
    _el(summation, "ram:GrandTotalAmount", _amount(invoice.total_ttc * sign))
    _el(summation, "ram:DuePayableAmount", _amount(invoice.total_ttc * sign))
    if invoice.credited_invoice_id:
        original = invoice.credited_invoice
        ref = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(ref, "ram:IssuerAssignedID", original.number)
        _date(ref, "ram:FormattedIssueDateTime", original.issue_date, qualified=True)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def payment_terms_text(invoice) -> str:
    """The payment terms in French, as printed on the PDF too."""
    from billing import conf

    due = invoice.due_date.strftime("%d/%m/%Y") if invoice.due_date else ""
    if invoice.is_credit_note:
        return f"Avoir imputable ou remboursable ; émis le {invoice.issue_date:%d/%m/%Y}."
    if invoice.payment_method == PaymentMethod.DIRECT_DEBIT and invoice.collection_date:
        text = f"Prélèvement SEPA le {invoice.collection_date:%d/%m/%Y}"
    else:
        text = f"{PaymentMethod(invoice.payment_method).label} — échéance le {due}"
    return (
        f"{text}. Pas d'escompte pour paiement anticipé. Pénalités de retard : "
        f"{conf.get('BILLING_LATE_PENALTY_RATE_TEXT')}, exigibles dès le lendemain de l'échéance ; "
        f"indemnité forfaitaire pour frais de recouvrement : {conf.get('BILLING_RECOVERY_INDEMNITY'):.0f} €."
    )
