"""Print the current TOTP code of the demo staff (DEBUG only): `make run` without a phone."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.demo import DEMO_STAFF, DEMO_TOTP_KEY_HEX


class Command(BaseCommand):
    help = "Prints the current second-factor code of the demo staff logins (refused when DEBUG is off)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_otp is for the demo only (DEBUG=True).")
        names = [u[0] for u in DEMO_STAFF]
        devices = TOTPDevice.objects.filter(user__username__in=names, key=DEMO_TOTP_KEY_HEX, confirmed=True)
        if not devices:
            raise CommandError("No demo TOTP device: run `python manage.py demo_data` first.")
        device = devices[0]
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(
            f"Code for {', '.join(sorted(d.user.username for d in devices))}: {totp.token():06d} "
            f"(valid about {device.step - int(totp.time) % device.step} s)"
        )
