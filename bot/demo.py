"""Synthetic demo and scale data: venues across a region's wards and a few days of check-ins.

Seeded and deterministic. Shaped on what Hanoi published in October 2021: about 0.9 % of the venues
are new each day, a good share of venues never scan and only about one in nine has a scan on a given
day, check-ins peak at breakfast, lunch and after work, and about three in four check-ins of a day
are by distinct people.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from bot.clock import local_midnight
from bot.payload import CODE_ALPHABET, CODE_LENGTH
from bot.regions import Region, RegionCatalogue
from storage.bulk import BulkVenue, BulkVisit
from storage.checkins import VisitDraft
from storage.models import NewVenue, Venue

# Synthetic people get ids far above those Telegram hands out, so they can never be messaged by mistake.
DEMO_USER_BASE = 9_000_000_000_000
NEW_SHARE_PER_DAY = 0.009  # Hanoi, 14/10/2021: 5,533 new a day on average for 605,000 venues
DISTINCT_SHARE = 0.78  # Hanoi, 14/10/2021: 236,404 people for 304,916 scans
# Venue popularity is log-normal; this spread leaves about 11 % of the venues with a scan on a day, as in
# Hanoi on 14/10/2021 (69,505 of 605,000), the busiest ones with a few thousand.
POPULARITY_SIGMA = 2.4
HISTORY_DAYS = 180  # earlier registrations spread over this many days before the recent ones
RECENT_EXTRA_DAYS = 6  # registrations also fill the 6 days before the first loaded day (7-day averages)

# category: (share of venues, relative popularity, name patterns)
CATEGORY_PROFILES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "food": (0.27, 1.6, ("Quán phở {n}", "Cơm tấm {n}", "Bún chả {n}", "Cà phê {n}", "Quán bia {n}")),
    "shop": (0.30, 1.0, ("Tạp hoá {n}", "Cửa hàng {n}", "Siêu thị mini {n}", "Shop thời trang {n}")),
    "clinic": (0.06, 1.4, ("Nhà thuốc {n}", "Phòng khám {n}", "Nha khoa {n}")),
    "office": (0.13, 1.2, ("Công ty TNHH {n}", "Văn phòng {n}", "Ngân hàng {n}")),
    "school": (0.05, 1.3, ("Trường Mầm non {n}", "Trường Tiểu học {n}", "Trung tâm Anh ngữ {n}")),
    "market": (0.03, 3.0, ("Chợ {n}", "Chợ đầu mối {n}")),
    "worship": (0.03, 0.8, ("Chùa {n}", "Nhà thờ {n}", "Đình {n}")),
    "transport": (0.02, 2.5, ("Bến xe {n}", "Ga {n}", "Bãi đỗ xe {n}")),
    "other": (0.11, 0.9, ("Nhà văn hoá {n}", "Sân bóng {n}", "Phòng gym {n}")),
}
NAMES = (
    "Hòa Bình", "An Khang", "Minh Châu", "Thành Công", "Phúc Lộc", "Hương Sen", "Bình Minh", "Hồng Hà",
    "Tâm An", "Việt Hưng", "Thu Hà", "Lan Anh", "Đức Thành", "Kim Liên", "Sao Mai", "Hoàng Long",
    "Ngọc Lan", "Trường Xuân", "Quang Minh", "Hải Đăng", "Thanh Xuân", "Đồng Tâm", "Gia Huy", "Mai Linh",
)  # fmt: skip
STREETS = (
    "Phố Huế", "Kim Mã", "Láng Hạ", "Nguyễn Trãi", "Trần Duy Hưng", "Hoàng Quốc Việt", "Lê Duẩn",
    "Giải Phóng", "Trường Chinh", "Lạc Long Quân", "Âu Cơ", "Nguyễn Văn Cừ", "Lê Lợi", "Hai Bà Trưng",
    "Trần Hưng Đạo", "Lý Thường Kiệt", "Điện Biên Phủ", "Hùng Vương", "Quang Trung", "Nguyễn Du",
)  # fmt: skip
# Relative check-ins by local hour: breakfast, lunch and after-work peaks, quiet nights.
HOUR_WEIGHTS = (
    0.2, 0.1, 0.1, 0.1, 0.2, 0.8, 2.5, 4.5, 5.0, 4.0, 4.0, 6.0,
    6.5, 4.0, 3.5, 3.5, 4.5, 6.0, 6.5, 5.5, 4.0, 2.5, 1.2, 0.5,
)  # fmt: skip
WEEKDAY_FACTORS = (1.0, 1.0, 1.0, 1.02, 1.05, 1.06, 0.88)  # Monday .. Sunday
PARTY_WEIGHTS = ((1, 90), (2, 7), (3, 2), (4, 1))
CHECKOUT_SHARE = 0.35  # people who press "Check out" before the automatic check-out


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: N venues in a region, D days ending on `last_day`, about M check-ins a day."""

    region: Region
    venues: int
    days: int
    checkins_per_day: int
    last_day: date
    seed: int = 1
    never_scan_share: float = 0.35

    def __post_init__(self) -> None:
        if self.venues < 1 or self.days < 1 or self.checkins_per_day < 0:
            raise ValueError("venues and days must be at least 1, check-ins per day at least 0")
        if not 0 <= self.never_scan_share < 1:
            raise ValueError("never_scan_share must be in [0, 1)")

    @property
    def first_day(self) -> date:
        return self.last_day - timedelta(days=self.days - 1)


def region_wards(regions: RegionCatalogue, region: Region) -> list[Region]:
    """The wards venues of a region are spread across."""
    if region.kind == "ward":
        return [region]
    if region.kind == "province":
        return regions.wards(region.id)
    return [ward for province in regions.provinces() for ward in regions.wards(province.id)]


class DemoData:
    """The venues and visits of one seeded demo data set."""

    def __init__(self, spec: DemoSpec, regions: RegionCatalogue, tz: ZoneInfo) -> None:
        self.spec = spec
        self._regions = regions
        self._tz = tz
        self._daily = self._daily_checkins()

    @property
    def daily_checkins(self) -> dict[date, int]:
        """How many check-ins each loaded day gets (a few may continue an earlier visit)."""
        return dict(self._daily)

    @property
    def total_checkins(self) -> int:
        return sum(self._daily.values())

    def _daily_checkins(self) -> dict[date, int]:
        """Volumes that grow through the period with weekly rhythm and noise, averaging M a day."""
        spec = self.spec
        rng = random.Random(f"{spec.seed}:volume")
        days = [spec.first_day + timedelta(days=i) for i in range(spec.days)]
        raw = []
        for index, day in enumerate(days):
            trend = 0.85 + 0.15 * (index + 1) / spec.days
            raw.append(trend * WEEKDAY_FACTORS[day.weekday()] * rng.uniform(0.95, 1.05))
        scale = spec.checkins_per_day * spec.days / sum(raw)
        return {day: round(factor * scale) for day, factor in zip(days, raw, strict=True)}

    def venues(self) -> list[BulkVenue]:
        """Venues with categories, names, addresses, wards and registration moments."""
        spec = self.spec
        rng = random.Random(f"{spec.seed}:venues")
        wards = region_wards(self._regions, spec.region)
        ward_weights = list(accumulate(rng.lognormvariate(0, 0.8) for _ in wards))
        categories = list(CATEGORY_PROFILES)
        category_weights = list(accumulate(CATEGORY_PROFILES[c][0] for c in categories))
        recent_days = spec.days + RECENT_EXTRA_DAYS
        recent_start = spec.last_day - timedelta(days=recent_days - 1)
        recent_share = min(0.5, NEW_SHARE_PER_DAY * recent_days)
        recent_weights = list(
            accumulate(
                WEEKDAY_FACTORS[(recent_start + timedelta(days=i)).weekday()] * rng.uniform(0.7, 1.3)
                for i in range(recent_days)
            )
        )
        # Earlier registrations ramp up towards the recent period.
        history_weights = list(accumulate(0.3 + i / HISTORY_DAYS for i in range(HISTORY_DAYS)))
        codes: set[str] = set()
        out = []
        for _ in range(spec.venues):
            code = "".join(rng.choices(CODE_ALPHABET, k=CODE_LENGTH))
            while code in codes:
                code = "".join(rng.choices(CODE_ALPHABET, k=CODE_LENGTH))
            codes.add(code)
            if rng.random() < recent_share:
                day = recent_start + timedelta(
                    days=rng.choices(range(recent_days), cum_weights=recent_weights)[0]
                )
            else:
                offset = rng.choices(range(HISTORY_DAYS), cum_weights=history_weights)[0]
                day = recent_start - timedelta(days=HISTORY_DAYS - offset)
            moment = local_midnight(day, self._tz) + timedelta(seconds=rng.randrange(7 * 3600, 20 * 3600))
            category = rng.choices(categories, cum_weights=category_weights)[0]
            ward = rng.choices(wards, cum_weights=ward_weights)[0]
            name = rng.choice(CATEGORY_PROFILES[category][2]).format(n=rng.choice(NAMES))
            lane = f"ngõ {rng.randrange(2, 200)} " if rng.random() < 0.3 else ""
            address = f"{rng.randrange(1, 400)} {lane}{rng.choice(STREETS)}"
            new = NewVenue(name=name, address=address, category=category, regions=ward.path)
            out.append(BulkVenue(code=code, new=new, created_at=moment))
        return out

    def visits(self, venues: list[Venue]) -> Iterator[BulkVisit]:
        """Check-ins of every loaded day, in order of time; a share of venues never scans."""
        spec = self.spec
        rng = random.Random(f"{spec.seed}:visits")
        scanning = [venue for venue in venues if rng.random() >= spec.never_scan_share]
        popularity = {
            venue.code: CATEGORY_PROFILES.get(venue.category, CATEGORY_PROFILES["other"])[1]
            * rng.lognormvariate(0, POPULARITY_SIGMA)
            for venue in scanning
        }
        busiest = max(self._daily.values(), default=0)
        pool = max(10, int(busiest * DISTINCT_SHARE * 1.8))
        parties, party_weights = zip(*PARTY_WEIGHTS, strict=True)
        for day, count in sorted(self._daily.items()):
            day_key = day.isoformat()
            # Venues registered on an earlier day; people start scanning the day after registration.
            open_venues = [venue for venue in scanning if venue.created_day < day_key]
            if not open_venues or count == 0:
                continue
            cumulative = list(accumulate(popularity[venue.code] for venue in open_venues))
            distinct = max(1, min(pool, round(count * DISTINCT_SHARE)))
            people = rng.sample(range(pool), distinct)
            visitors = (
                people + rng.choices(people, k=count - distinct) if count > distinct else people[:count]
            )
            rng.shuffle(visitors)
            chosen = rng.choices(open_venues, cum_weights=cumulative, k=len(visitors))
            hours = rng.choices(range(24), HOUR_WEIGHTS, k=len(visitors))
            sizes = rng.choices(parties, party_weights, k=len(visitors))
            start = local_midnight(day, self._tz)
            day_visits: list[tuple[datetime, Venue, int, int]] = []
            for person, venue, hour, party in zip(visitors, chosen, hours, sizes, strict=True):
                at = start + timedelta(seconds=hour * 3600 + rng.randrange(3600))
                day_visits.append((at, venue, DEMO_USER_BASE + person, party))
            day_visits.sort(key=lambda item: item[0])
            for at, venue, user_id, party in day_visits:
                checkout = None
                if rng.random() < CHECKOUT_SHARE:
                    checkout = at + timedelta(minutes=rng.randrange(10, 100))
                yield BulkVisit(VisitDraft(venue, user_id, at, party), checkout_at=checkout)
