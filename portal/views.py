from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.urls import reverse_lazy

from contracts.selectors import active_contracts_for_client
from portal.access import portal_view


class PortalLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


@portal_view()
def dashboard(request):
    context = {
        "contracts": active_contracts_for_client(request.client),
    }
    return render(request, "portal/dashboard.html", context)


password_reset = auth_views.PasswordResetView.as_view(
    template_name="portal/password_reset.html",
    email_template_name="portal/email/password_reset.txt",
    subject_template_name="portal/email/password_reset_subject.txt",
    success_url=reverse_lazy("portal:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html")
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="portal/password_reset_confirm.html", success_url=reverse_lazy("portal:password_reset_complete")
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="portal/password_reset_complete.html"
)
