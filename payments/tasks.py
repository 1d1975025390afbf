"""Celery entry points of payments: thin, they take ids and call the service."""
from celery import shared_task


@shared_task(acks_late=True)
def render_formal_notice_pdf_task(notice_id: int):
    from payments.services import formal_notice_store_pdf

    return formal_notice_store_pdf(notice_id)
