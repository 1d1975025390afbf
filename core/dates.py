"""Business dates: computed in Europe/Paris, stored as aware datetimes in UTC."""
import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

PARIS = ZoneInfo("Europe/Paris")


def business_today(now: datetime.datetime | None = None) -> datetime.date:
    """Today's date in Paris (not UTC: at 00:30 in Paris, UTC is still yesterday)."""
    now = now or timezone.now()
    return now.astimezone(PARIS).date()


def paris_datetime(day: datetime.date, hour: int = 0, minute: int = 0) -> datetime.datetime:
    """An aware datetime at a wall-clock time in Paris (DST handled by zoneinfo)."""
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def settings_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)
