"""The intervention report as PDF (WeasyPrint), for the client and the technician's records."""
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML

from core.models import ProviderProfile
from interventions.models import Intervention


def intervention_report_pdf(intervention: Intervention) -> bytes:
    """Render the report of one intervention (use ``selectors.intervention_for_report`` to load it)."""
    report = getattr(intervention, "visit_report", None) if hasattr(intervention, "visit_report") else None
    entries = list(intervention.time_entries.all())
    with translation.override("fr"):
        html = render_to_string("interventions/report_pdf.html", {
            "intervention": intervention,
            "ticket": intervention.ticket,
            "visit_report": report,
            "entries": entries,
            "covered_minutes": sum(e.covered_minutes for e in entries),
            "out_of_hours_minutes": sum(e.out_of_hours_minutes for e in entries),
            "provider": ProviderProfile.objects.order_by("pk").first(),
        })
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
