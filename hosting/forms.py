"""Forms of the hosting option: the certificate upload (admin) and the mailbox change request (portal)."""
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hosting import services
from hosting.exceptions import HostingError
from hosting.models import Certificate, ChangeRequest, Mailbox

MAX_PEM_BYTES = 64 * 1024


class CertificateUploadForm(forms.ModelForm):
    """Staff upload the client's certificate file; every other field is read from it."""

    pem_file = forms.FileField(
        label=_("fichier du certificat (PEM)"),
        help_text=_("Fichier .pem / .crt commençant par « -----BEGIN CERTIFICATE----- ». Jamais la clé privée."),
    )

    class Meta:
        model = Certificate
        fields = ["domain"]

    def clean_pem_file(self):
        upload = self.cleaned_data["pem_file"]
        if upload.size > MAX_PEM_BYTES:
            raise forms.ValidationError(_("Fichier trop volumineux pour un certificat (64 Ko au plus)."))
        return upload.read()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("domain") and cleaned.get("pem_file"):
            try:
                services.certificate_check(domain=cleaned["domain"], pem=cleaned["pem_file"], now=timezone.now())
            except HostingError as exc:
                self.add_error("pem_file", exc.message)
        return cleaned


class StaffChangeRequestForm(forms.ModelForm):
    """Staff record a request received by phone or e-mail (H5)."""

    class Meta:
        model = ChangeRequest
        fields = ["service", "requested_mailboxes", "comment"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("service") and cleaned.get("requested_mailboxes") is not None:
            try:
                services.change_request_check(
                    service=cleaned["service"], requested_mailboxes=cleaned["requested_mailboxes"]
                )
            except HostingError as exc:
                raise forms.ValidationError(exc.message) from exc
        return cleaned


class ChangeRequestForm(forms.Form):
    """Portal: the number of mailboxes the client wants (H5)."""

    requested_mailboxes = forms.IntegerField(
        label=_("nombre de boîtes aux lettres souhaité"), min_value=0, max_value=1000
    )
    comment = forms.CharField(
        label=_("précisions (adresses à créer ou à supprimer…)"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
    )


class MailboxForm(forms.ModelForm):
    """Staff add or edit a mailbox; the count and address checks of the service run on the form."""

    class Meta:
        model = Mailbox
        fields = ["service", "local_part", "display_name", "aliases", "is_active"]

    def _post_clean(self):
        super()._post_clean()
        if not self.errors and self.instance.service_id:
            try:
                services.mailbox_check(mailbox=self.instance)
            except HostingError as exc:
                self.add_error(None, exc.message)
