"""Benchmark of ticket attachments: checking, fingerprinting and storing files through the service.

Everything runs in a transaction that is rolled back, and the files go to a temporary MEDIA_ROOT
removed at the end, so it may run on any migrated database::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_attach python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_attach python manage.py benchmark_attachments

Figures go to docs/benchmarks.md, section "interventions".
"""
import io
import os
import shutil
import tempfile
import time
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from interventions import services

MB = 1024 * 1024


def _zip(members: int, size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(members):
            archive.writestr(f"logs/app-{i:04d}.log", os.urandom(size))
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Measure ticket_attachments_add on typical files (rolled back, temporary storage)."

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=5)

    def handle(self, *args, rounds, **options):
        cases = [
            ("capture.png", b"\x89PNG\r\n\x1a\n" + os.urandom(300 * 1024)),
            ("scan.pdf", b"%PDF-1.7\n" + os.urandom(2 * MB)),
            ("journal.log", b"2026-12-01 09:00:00 INFO ok\n" * 300_000),  # 8.1 MB of text
            ("journaux.zip", _zip(members=1000, size=9 * 1024)),  # ~9 MB, 1,000 members opened
            ("max.pdf", b"%PDF-1.7\n" + os.urandom(10 * MB - 16)),
        ]
        media = tempfile.mkdtemp(prefix="mis-attach-bench-")
        try:
            with override_settings(MEDIA_ROOT=media, TICKET_ATTACHMENT_MAX_PER_TICKET=10_000):
                self._run(cases, rounds)
        finally:
            shutil.rmtree(media, ignore_errors=True)

    def _run(self, cases, rounds):
        # A development tool: the rows come from the test factories and are rolled back at the end.
        from tests.factories.contracts import ContactFactory
        from tests.factories.interventions import TicketFactory

        with transaction.atomic():
            ticket = TicketFactory()
            contact = ContactFactory(client=ticket.client, with_login=True)
            for name, content in cases:
                walls, cpus = [], []
                for _ in range(rounds):
                    upload = SimpleUploadedFile(name, content)
                    wall, cpu = time.perf_counter(), time.process_time()
                    services.ticket_attachments_add(ticket=ticket, files=[upload], author=contact.user)
                    walls.append(time.perf_counter() - wall)
                    cpus.append(time.process_time() - cpu)
                size = len(content) / MB
                self.stdout.write(
                    f"{name:14} {size:6.2f} MB  wall {min(walls) * 1000:7.1f}–{max(walls) * 1000:7.1f} ms  "
                    f"CPU {min(cpus) * 1000:7.1f}–{max(cpus) * 1000:7.1f} ms  "
                    f"({size / min(walls):6.1f} MB/s best wall)"
                )
            self.stdout.write(f"at {timezone.now():%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")
            transaction.set_rollback(True)
