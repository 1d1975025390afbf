from django.http import HttpResponseForbidden


class AdminStaffOnlyMiddleware:
    """A signed-in portal user (not staff) never reaches /admin/: 403, not even the admin login form."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/"):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and not user.is_staff:
                return HttpResponseForbidden("Accès réservé au personnel de MICRO INFO SERVICE.")
        return self.get_response(request)
