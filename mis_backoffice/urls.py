from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "MICRO INFO SERVICE — back-office"
admin.site.site_title = "MIS back-office"
admin.site.index_title = "Administration"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:dashboard", permanent=False)),
    path("admin/2fa/", include("core.urls_otp")),  # staff second factor (core/security.py)
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("api/backups/", include("backups.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
