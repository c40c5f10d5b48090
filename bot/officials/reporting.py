"""A region's daily figures for officials, on demand and every morning to subscribers."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock, local_day
from bot.i18n import N_, gettext_for, pick_language
from bot.officials.access import Access, BadInput, OfficialAccess
from bot.regions import Region, RegionCatalogue
from bot.reports import RegionReport, build_report, render_report
from storage.officials import OfficialRepo, SubscriptionRepo
from storage.outbox import OutboundMessage, OutboxRepo
from storage.stats import StatsRepo
from storage.users import UserRepo

NOT_YET = N_("That day has not come yet.")
TOO_EARLY = N_("There are no figures before 2000.")
# Reports compare with the days before; far older days are typing mistakes (and year 1 overflows).
EARLIEST_DAY = date(2000, 1, 1)


@dataclass(frozen=True)
class RegionReports:
    """A day's figures for a region within the person's area (default: yesterday, their whole area)."""

    access: OfficialAccess
    stats: StatsRepo
    clock: Clock
    tz: ZoneInfo

    def today(self) -> date:
        return local_day(self.clock.now(), self.tz)

    async def region_report(
        self, access: Access, *, day: date | None = None, place: str | None = None
    ) -> RegionReport:
        today = self.today()
        day = today - timedelta(days=1) if day is None else day
        if day > today:
            raise BadInput(NOT_YET)
        if day < EARLIEST_DAY:
            raise BadInput(TOO_EARLY)
        region = self.access.region(access, place)
        return await build_report(self.stats, self.access.regions, region.id, day)


@dataclass(frozen=True)
class Subscriptions:
    """Morning reports an official asked for, always within their area."""

    access: OfficialAccess
    repo: SubscriptionRepo
    clock: Clock

    async def subscribe(self, access: Access, region: Region) -> bool:
        """Subscribe to a region's report; False when already subscribed."""
        self.access.require_within(access, region.id)
        return await self.repo.subscribe(access.user_id, region.id, self.clock.now())

    async def unsubscribe(self, user_id: int, region_id: str) -> bool:
        return await self.repo.unsubscribe(user_id, region_id)

    async def regions_of(self, user_id: int) -> list[str]:
        return [subscription.region for subscription in await self.repo.for_user(user_id)]


@dataclass(frozen=True)
class MorningReports:
    """Queues yesterday's report to every subscriber, in their language, once per day and region."""

    subscriptions: SubscriptionRepo
    officials: OfficialRepo
    users: UserRepo
    stats: StatsRepo
    outbox: OutboxRepo
    regions: RegionCatalogue
    admins: Collection[int]
    clock: Clock

    async def subscriber_scopes(self, user_ids: Iterable[int]) -> dict[int, str]:
        """The current scope of each subscriber who is still an official or an admin."""
        ids = sorted(set(user_ids))
        officials = await self.officials.get_many(ids)
        country = self.regions.country().id
        scopes = {user: official.region for user, official in officials.items()}
        scopes.update({user: country for user in ids if user in self.admins})
        return scopes

    async def queue(self, day: date) -> int:
        """Queue the report of `day` for every subscription; the number newly queued.

        Keys are `official-report:<user>:<region>:<day>`, so running this twice for a day queues nothing
        new. Subscriptions of people who are no longer officials, or regions now outside their scope,
        are skipped.
        """
        subscriptions = await self.subscriptions.all()
        if not subscriptions:
            return 0
        users = [subscription.user_id for subscription in subscriptions]
        scopes = await self.subscriber_scopes(users)
        profiles = await self.users.get_many(sorted(set(users)))
        reports: dict[str, RegionReport] = {}
        texts: dict[tuple[str, str], str] = {}
        messages = []
        for subscription in subscriptions:
            scope = scopes.get(subscription.user_id)
            region = subscription.region
            if scope is None or self.regions.get(region) is None or not self.regions.is_within(region, scope):
                continue
            profile = profiles.get(subscription.user_id)
            lang = (
                pick_language(profile.language, profile.telegram_language)
                if profile
                else pick_language(None, None)
            )
            if region not in reports:
                reports[region] = await build_report(self.stats, self.regions, region, day)
            if (region, lang) not in texts:
                texts[region, lang] = render_report(reports[region], gettext_for(lang), lang)
            messages.append(
                OutboundMessage(
                    key=f"official-report:{subscription.user_id}:{region}:{day.isoformat()}",
                    kind="official-report",
                    chat_id=subscription.user_id,
                    text=texts[region, lang],
                    meta={"region": region, "day": day.isoformat()},
                )
            )
        return await self.outbox.enqueue_many(messages, self.clock.now())
