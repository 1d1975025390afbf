"""Every periodic task of the product, in one place (synced to django-celery-beat).

``python manage.py setup_schedule`` creates or updates these rows in the
database scheduler, so staff can see and pause them in the admin. Times are
Europe/Paris. Each entry: name -> (task path, crontab kwargs, kwargs).
"""

PERIODIC_TASKS = {
    # The whole nightly sequence for today's business date (core.nightly).
    "nightly": ("core.tasks.run_nightly_task", {"minute": "30", "hour": "1"}, {}),
    # E-mails whose sending failed (SMTP down) are retried.
    "retry-unsent-emails": ("core.tasks.retry_unsent_emails_task", {"minute": "*/10"}, {}),
    # CGV S2/K4/K5: SLA deadlines at risk or breached, staff alerted once per state.
    "interventions-sla-scan": ("interventions.tasks.sla_scan_task", {"minute": "*/15"}, {}),
    # CGV D6: breach alerts at 24, 48 and 66 hours while the controller is not notified (once each).
    "gdpr-breach-alerts": ("gdpr.tasks.breach_alerts_task", {"minute": "*/15"}, {}),
}
