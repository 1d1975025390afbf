"""Staff second factor under /admin/2fa/: enrollment (QR code), the code step, recovery codes.

A staff member with a confirmed device must pass the code step before enrolling a new one,
so a stolen password alone can never replace the second factor.
"""
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core import security
from core.forms_otp import INVALID_CODE, OTPCodeForm


def _context(request, **extra):
    return {**admin.site.each_context(request), **extra}


@staff_member_required
def otp_index(request):
    if not request.user.is_verified():
        return redirect("core_otp:verify" if security.has_second_factor(request.user) else "core_otp:setup")
    return render(request, "admin/core/otp_index.html", _context(
        request, title="Double authentification", recovery_left=security.recovery_codes_left(request.user)))


@staff_member_required
def otp_setup(request):
    user = request.user
    if security.has_second_factor(user) and not user.is_verified():
        return redirect(f"{reverse('core_otp:verify')}?next={reverse('core_otp:setup')}")
    device = security.totp_device_pending(user=user)
    next_url = security.safe_next(request, reverse("admin:index"))
    form = OTPCodeForm(request.POST or None, initial={"next": next_url})
    if request.method == "POST" and form.is_valid():
        codes = security.totp_enroll_confirm(user=user, device=device, token=form.cleaned_data["token"],
                                             request=request)
        if codes is not None:
            return render(request, "admin/core/otp_codes.html",
                          _context(request, title="Codes de secours", codes=codes, next_url=next_url))
        form.add_error("token", INVALID_CODE)
    return render(request, "admin/core/otp_setup.html", _context(
        request, title="Activer la double authentification", form=form,
        qr_svg=security.qr_svg(device), secret=security.secret_b32(device)), status=400 if form.errors else 200)


@staff_member_required
def otp_verify(request):
    user = request.user
    if not security.has_second_factor(user):
        return redirect("core_otp:setup")
    next_url = security.safe_next(request, reverse("admin:index"))
    form = OTPCodeForm(request.POST or None, initial={"next": next_url})
    if request.method == "POST" and form.is_valid():
        if security.second_factor_verify(user=user, token=form.cleaned_data["token"], request=request):
            return redirect(next_url)
        form.add_error("token", INVALID_CODE)
    return render(request, "admin/core/otp_verify.html",
                  _context(request, title="Vérification en deux étapes", form=form),
                  status=400 if form.errors else 200)


@require_POST
@staff_member_required
def otp_recovery_regenerate(request):
    if not request.user.is_verified():
        return redirect("core_otp:verify")
    codes = security.recovery_codes_regenerate(user=request.user, actor=request.user)
    return render(request, "admin/core/otp_codes.html", _context(
        request, title="Codes de secours", codes=codes, next_url=reverse("core_otp:index")))
