"""Portal pages of the account itself: login, invitation, dashboard, the company's users.

Every view is wrapped by :func:`portal.access.portal_view` and reads through
selectors scoped by ``request.client``.
"""
import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from contracts import selectors as contract_selectors
from contracts.models import Contact
from core import security
from core.dates import business_today
from core.forms_otp import INVALID_CODE, OTPCodeForm, OTPDisableForm
from portal import dashboard as dashboard_data
from portal import services
from portal.access import ADMIN, portal_view
from portal.exceptions import PortalError
from portal.forms import InviteForm, PortalAuthenticationForm, PortalPasswordResetForm

PREVIOUS_LOGIN_KEY = "portal_previous_login"


class PortalLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = PortalAuthenticationForm

    def dispatch(self, request, *args, **kwargs):
        # Only a portal contact is sent on to the dashboard; a staff session sees the form
        # (sending it to the dashboard would bounce it back here forever).
        self.redirect_authenticated_user = contract_selectors.contact_for_user(request.user) is not None
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if security.has_second_factor(user):
            # Password right, second factor still to come: nothing is signed in yet.
            self.request.session[OTP_PENDING_KEY] = {
                "user": user.pk, "backend": user.backend, "next": self.get_success_url(), "tries": 0,
            }
            return redirect("portal:login_otp")
        previous = user.last_login  # login() overwrites it with now
        response = super().form_valid(form)
        self.request.session[PREVIOUS_LOGIN_KEY] = previous.isoformat() if previous else ""
        return response


OTP_PENDING_KEY = "portal_otp_pending"
OTP_MAX_TRIES = 5


def login_otp(request):
    """Second step of the portal login for a user who enabled the double authentication."""
    pending = request.session.get(OTP_PENDING_KEY)
    user = get_user_model().objects.filter(pk=(pending or {}).get("user"), is_active=True).first()
    if user is None:
        return redirect("portal:login")
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = security.second_factor_verify(user=user, token=form.cleaned_data["token"])
        if device is not None:
            del request.session[OTP_PENDING_KEY]
            previous = user.last_login
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            request.session[PREVIOUS_LOGIN_KEY] = previous.isoformat() if previous else ""
            return redirect(pending["next"])
        pending["tries"] += 1
        if pending["tries"] >= OTP_MAX_TRIES:
            del request.session[OTP_PENDING_KEY]
            messages.error(request, _("Trop de codes incorrects : reconnectez-vous."))
            return redirect("portal:login")
        request.session[OTP_PENDING_KEY] = pending
        form.add_error("token", INVALID_CODE)
    return render(request, "portal/login_otp.html", {"form": form}, status=400 if form.errors else 200)


# --- The account's own security (double authentication, optional for portal users) ---------------


@portal_view()
def account_security(request):
    """Enable the double authentication (QR code + first code), or disable it with a current code."""
    user = request.user
    if security.has_second_factor(user):
        form = OTPDisableForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if security.second_factor_verify(user=user, token=form.cleaned_data["token"]):
                security.second_factor_disable(user=user, actor=user)
                messages.success(request, _("La double authentification est désactivée."))
                return redirect("portal:account_security")
            form.add_error("token", INVALID_CODE)
        context = {"enabled": True, "form": form, "recovery_left": security.recovery_codes_left(user)}
    else:
        device = security.totp_device_pending(user=user)
        form = OTPCodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            codes = security.totp_enroll_confirm(user=user, device=device, token=form.cleaned_data["token"],
                                                 request=request)
            if codes is not None:
                messages.success(request, _("La double authentification est activée."))
                return render(request, "portal/security_codes.html", {"codes": codes})
            form.add_error("token", INVALID_CODE)
        context = {"enabled": False, "form": form, "qr_svg": security.qr_svg(device),
                   "secret": security.secret_b32(device)}
    return render(request, "portal/security.html", context, status=400 if form.errors else 200)


def previous_login(request) -> datetime.datetime | None:
    """The login before this session's (what "last login" means to the person reading it)."""
    value = request.session.get(PREVIOUS_LOGIN_KEY)
    if value is None:  # session opened without the portal form (tests' force_login)
        return request.user.last_login
    return parse_datetime(value) if value else None


@portal_view()
def dashboard(request):
    today = business_today()
    context = dashboard_data.dashboard_context(request, today=today, now=timezone.now())
    context["previous_login"] = previous_login(request)
    context["first_login"] = request.session.get(PREVIOUS_LOGIN_KEY) == ""
    return render(request, "portal/dashboard.html", context)


# --- The company's portal users (company administrator only) -------------------------------------


def _company_contact(request, contact_id: int) -> Contact:
    try:
        return contract_selectors.contacts_for_client(request.client).get(pk=contact_id)
    except Contact.DoesNotExist as exc:
        raise Http404 from exc


@portal_view(ADMIN)
def users(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.portal_user_invite(
                actor=request.user,
                admin=request.contact,
                base_url=request.build_absolute_uri("/"),
                **form.cleaned_data,
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("Invitation envoyée à %(email)s : le lien est valable 3 jours.") % {"email": contact.email}
            )
            return redirect("portal:users")
    context = {"contacts": contract_selectors.contacts_for_client(request.client), "form": form}
    return render(request, "portal/users.html", context, status=400 if form.errors else 200)


def _user_action(request, contact_id: int, action, done_message: str):
    contact = _company_contact(request, contact_id)
    try:
        action(actor=request.user, admin=request.contact, contact=contact)
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done_message % {"name": contact.full_name})
    return redirect("portal:users")


@require_POST
@portal_view(ADMIN)
def user_disable(request, contact_id: int):
    return _user_action(
        request,
        contact_id,
        lambda **kw: services.portal_user_disable(now=timezone.now(), **kw),
        _("L'accès de %(name)s est désactivé."),
    )


@require_POST
@portal_view(ADMIN)
def user_enable(request, contact_id: int):
    return _user_action(
        request,
        contact_id,
        lambda **kw: services.portal_user_enable(now=timezone.now(), **kw),
        _("L'accès de %(name)s est réactivé."),
    )


@require_POST
@portal_view(ADMIN)
def user_reinvite(request, contact_id: int):
    return _user_action(
        request,
        contact_id,
        lambda **kw: services.portal_user_reinvite(base_url=request.build_absolute_uri("/"), **kw),
        _("Une nouvelle invitation a été envoyée à %(name)s."),
    )


# --- Invitation and password reset (anonymous) -----------------------------------------------------


class InvitationAcceptView(auth_views.PasswordResetConfirmView):
    """The one-time invitation link: choose a password, then land signed in on the dashboard."""

    template_name = "portal/invitation_accept.html"
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("portal:dashboard")

    def form_valid(self, form):
        if security.has_second_factor(form.user):
            # The link proves the mailbox, not the phone: a user with TOTP signs in through the code step.
            form.save()
            messages.success(self.request, _("Votre mot de passe est enregistré : connectez-vous."))
            return redirect("portal:login")
        response = super().form_valid(form)
        self.request.session[PREVIOUS_LOGIN_KEY] = ""
        messages.success(self.request, _("Bienvenue ! Votre mot de passe est enregistré."))
        return response


invitation_accept = InvitationAcceptView.as_view()

password_reset = auth_views.PasswordResetView.as_view(
    template_name="portal/password_reset.html",
    form_class=PortalPasswordResetForm,
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
