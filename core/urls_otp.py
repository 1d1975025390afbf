from django.urls import path

from core import views_otp

app_name = "core_otp"

urlpatterns = [
    path("", views_otp.otp_index, name="index"),
    path("activer/", views_otp.otp_setup, name="setup"),
    path("verifier/", views_otp.otp_verify, name="verify"),
    path("codes-de-secours/", views_otp.otp_recovery_regenerate, name="recovery_regenerate"),
]
