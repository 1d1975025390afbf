from django.urls import path

from backups import views

app_name = "backups"

urlpatterns = [
    path("reports/", views.report_ingest_view, name="report-ingest"),
]
