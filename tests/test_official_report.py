"""Report figures against values worked out by hand, and against a brute-force count of the raw visits."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.demo import DemoData, DemoSpec
from bot.i18n import gettext_for
from bot.regions import load_catalogue
from bot.reports import JSON_KEYS, ChildFigures, RegionReport, build_report, render_report
from storage.bulk import run_bulk_load
from storage.database import Repos
from storage.models import NewVenue, Venue

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
D = date(2026, 11, 18)
REGIONS = load_catalogue()
HANOI = REGIONS.match_province("Hà Nội")
HCMC = REGIONS.match_province("Hồ Chí Minh")
WARD_A = REGIONS.match_ward(HANOI.id, "Ba Đình")
WARD_B = REGIONS.match_ward(HANOI.id, "Hoàn Kiếm")
WARD_C = REGIONS.match_ward(HANOI.id, "Tây Hồ")
WARD_H = REGIONS.wards(HCMC.id)[0]


def at(day: str, hour: int, minute: int = 0) -> datetime:
    y, m, d = (int(p) for p in day.split("-"))
    return datetime(y, m, d, hour, minute, tzinfo=TZ)


async def venue(repos: Repos, code: str, ward_path: tuple[str, ...], created: str) -> Venue:
    new = NewVenue(name=f"Venue {code}", address="1 Phố Huế", category="shop", regions=ward_path)
    return await repos.venues.create(new, now=at(created, 8), day=created, new_code=lambda: code, code=code)


async def hand_made_city(repos: Repos) -> dict[str, Venue]:
    """Eight venues and a week of check-ins whose figures are worked out in the test below."""
    v = {
        "V1": await venue(repos, "AAAAAAA1", WARD_A.path, "2026-11-01"),
        "V2": await venue(repos, "AAAAAAA2", WARD_A.path, "2026-11-10"),
        "V3": await venue(repos, "BBBBBBB3", WARD_B.path, "2026-11-14"),
        "V4": await venue(repos, "BBBBBBB4", WARD_B.path, "2026-11-16"),
        "V5": await venue(repos, "CCCCCCC5", WARD_C.path, "2026-11-18"),
        "V6": await venue(repos, "CCCCCCC6", WARD_C.path, "2026-11-12"),  # never scans
        "V7": await venue(repos, "HHHHHHH7", WARD_H.path, "2026-11-05"),  # another city
        "V8": await venue(repos, "AAAAAAA8", WARD_A.path, "2026-11-03"),  # closed on D-1
    }
    await repos.venues.set_active(v["V8"].code, False, day="2026-11-17")
    scans = [
        ("2026-11-12", 9, "V1", 1),
        ("2026-11-12", 10, "V1", 2),
        ("2026-11-14", 9, "V2", 1),
        ("2026-11-15", 9, "V1", 3),
        ("2026-11-15", 11, "V3", 3),
        ("2026-11-16", 9, "V3", 4),
        ("2026-11-17", 9, "V1", 1),
        ("2026-11-17", 10, "V1", 2),
        ("2026-11-17", 11, "V3", 1),
        ("2026-11-18", 9, "V1", 1),
        ("2026-11-18", 12, "V1", 1),  # the same person again, three hours later
        ("2026-11-18", 10, "V2", 2),
        ("2026-11-18", 10, "V4", 3),
        ("2026-11-18", 10, "V5", 5),
        ("2026-11-18", 10, "V7", 4),
    ]
    for day, hour, name, user in scans:
        await repos.checkins.record_visit(v[name], 7000 + user, at(day, hour))
    return v


async def test_city_figures_match_the_hand_computed_ones(repos: Repos) -> None:
    await hand_made_city(repos)
    report = await build_report(repos.stats, REGIONS, HANOI.id, D)
    assert report.to_json() | {"children": None} == {
        "date": D.isoformat(),
        "region": HANOI.id,
        # V1 V2 V3 V4 V5 V6 registered in Hanoi and active; V8 closed on the 17th; V7 is in another city
        "venues_total": 6,
        "venues_new": 1,  # V5
        "venues_new_avg7": 0.6,  # V6 (12th), V3 (14th), V4 (16th), V5 (18th) over 7 days
        "venues_with_checkins": 4,  # V1 V2 V4 V5
        "venues_with_checkins_delta": 2,  # V1 V3 on the 17th
        "checkins": 5,
        "checkins_delta": 2,  # 3 on the 17th
        "checkins_avg7": 2.0,  # 2 0 1 2 1 3 5
        "unique_visitors": 4,  # users 1 2 3 5
        "unique_visitors_delta": 2,
        "unique_visitors_avg7": 1.6,  # 2 0 1 1 1 2 4 = 11 / 7
        "inactive_venues": 1,  # V6; V4 and V5 are too new, V1 V2 V3 scanned in the 3 days ending D
        "children": None,
    }
    assert [(c.region, c.checkins, c.venues_with_checkins, c.venues_total) for c in report.children] == [
        (WARD_A.id, 3, 2, 2),
        *sorted([(WARD_B.id, 1, 1, 2), (WARD_C.id, 1, 1, 2)]),
    ]
    assert [c.venues_with_checkins_share for c in report.children] == [1.0, 0.5, 0.5]
    assert report.children[0].name == WARD_A.name


async def test_region_boundaries(repos: Repos) -> None:
    await hand_made_city(repos)
    country = await build_report(repos.stats, REGIONS, "vn", D)
    assert (country.checkins, country.unique_visitors, country.venues_total) == (6, 5, 7)
    assert [(c.region, c.checkins) for c in country.children] == [(HANOI.id, 5), (HCMC.id, 1)]
    other_city = await build_report(repos.stats, REGIONS, HCMC.id, D)
    assert (other_city.checkins, other_city.venues_total, other_city.inactive_venues) == (1, 1, 0)
    ward = await build_report(repos.stats, REGIONS, WARD_A.id, D)
    assert (ward.checkins, ward.unique_visitors, ward.venues_with_checkins, ward.venues_total) == (3, 2, 2, 2)
    assert ward.children == ()
    # The day before: V8 was still open in the morning and closed that day.
    before = await build_report(repos.stats, REGIONS, HANOI.id, D - timedelta(days=1))
    assert (before.venues_total, before.checkins, before.unique_visitors) == (5, 3, 2)
    assert before.venues_total_delta == -1


async def test_json_has_exactly_the_issue_keys(repos: Repos) -> None:
    await hand_made_city(repos)
    report = await build_report(repos.stats, REGIONS, HANOI.id, D)
    data = json.loads(json.dumps(report.to_json()))
    assert list(data) == [*JSON_KEYS, "children"]
    assert set(data["children"][0]) == {
        "region",
        "name",
        "checkins",
        "venues_with_checkins",
        "venues_total",
        "venues_with_checkins_share",
    }


def bulletin() -> RegionReport:
    """Hanoi, 14/10/2021, as published."""
    return RegionReport(
        date="2021-10-14",
        region=HANOI.id,
        region_name="Thành phố Hà Nội",
        venues_total=605_000,
        venues_total_delta=4_323,
        venues_new=4_323,
        venues_new_avg7=5_533,
        venues_with_checkins=69_505,
        venues_with_checkins_delta=1_136,
        checkins=304_916,
        checkins_delta=59_236,
        checkins_avg7=241_740,
        unique_visitors=236_404,
        unique_visitors_delta=42_028,
        unique_visitors_avg7=180_930,
        inactive_venues=12,
        children=(ChildFigures(WARD_A.id, WARD_A.name, 20_000, 2_000, 8_000, 0.25),),
    )


def test_averages_are_whole_points_scans_and_people() -> None:
    report = dataclasses.replace(
        bulletin(), venues_new_avg7=0.6, checkins_avg7=1_595.6, unique_visitors_avg7=1_234.4
    )
    vi = render_report(report, gettext_for("vi"), "vi")
    assert "1.596" in vi and "1.234" in vi
    assert "1.595,6" not in vi and "1.234,4" not in vi and "0,6" not in vi
    en = render_report(report, gettext_for("en"), "en")
    assert "1,596" in en and "1,234" in en and "1,595.6" not in en


def test_the_text_reads_like_the_bulletin() -> None:
    vi = render_report(bulletin(), gettext_for("vi"), "vi")
    assert (
        "Đến ngày 14/10, Thành phố Hà Nội có 605.000 địa điểm quét mã QR, tăng 4.323 điểm so với ngày 13/10"
        in vi
    )
    assert "trung bình 7 ngày vừa qua là 5.533" in vi
    assert "69.505" in vi and "tăng 1.136" in vi
    assert "304.916 lượt" in vi and "tăng 59.236" in vi and "241.740" in vi
    assert "236.404 người" in vi and "tăng 42.028" in vi and "180.930" in vi
    assert "1. Phường Ba Đình: 20.000 lượt, 25% địa điểm có lượt quét" in vi
    en = render_report(bulletin(), gettext_for("en"), "en")
    assert (
        "On 14/10, Thành phố Hà Nội had 605,000 QR check-in points, up 4,323 points compared with 13/10" in en
    )
    assert "304,916 scans in the day, up 59,236 scans" in en


async def test_figures_match_a_brute_force_count_of_generated_data(repos: Repos) -> None:
    """A generated week loaded in bulk; every figure recounted from the raw visits and venues."""
    spec = DemoSpec(region=HANOI, venues=150, days=7, checkins_per_day=90, last_day=D, seed=21)
    demo = DemoData(spec, REGIONS, TZ)
    await run_bulk_load(repos, demo.venues(), demo.visits, tz=TZ, retention_days=21)
    venues = await repos.venues.find()
    visits = await repos.db["visits"].find({}).to_list()
    busiest = Counter(visit["regions"][-1] for visit in visits if visit["day"] == D.isoformat())
    ward = busiest.most_common(1)[0][0]
    for region in (HANOI.id, ward):
        inside = [v for v in venues if region in v.regions]
        per_day: dict[str, list[dict]] = defaultdict(list)
        for visit in visits:
            if region in visit["regions"]:
                per_day[visit["day"]].append(visit)

        def day_of(offset: int) -> str:
            return (D - timedelta(days=offset)).isoformat()

        def checkins(offset: int, source: dict[str, list[dict]] = per_day) -> int:
            return len(source[day_of(offset)])

        def people(offset: int, source: dict[str, list[dict]] = per_day) -> int:
            return len({v["user_id"] for v in source[day_of(offset)]})

        def scanned(offset: int, source: dict[str, list[dict]] = per_day) -> int:
            return len({v["venue_code"] for v in source[day_of(offset)]})

        def new(offset: int, source: list[Venue] = inside) -> int:
            return sum(v.created_day == day_of(offset) for v in source)

        recent = {v["venue_code"] for offset in range(3) for v in per_day[day_of(offset)]}
        report = await build_report(repos.stats, REGIONS, region, D)
        assert report.to_json() | {"children": None} == {
            "date": D.isoformat(),
            "region": region,
            "venues_total": len(inside),
            "venues_new": new(0),
            "venues_new_avg7": round(sum(new(i) for i in range(7)) / 7, 1),
            "venues_with_checkins": scanned(0),
            "venues_with_checkins_delta": scanned(0) - scanned(1),
            "checkins": checkins(0),
            "checkins_delta": checkins(0) - checkins(1),
            "checkins_avg7": round(sum(checkins(i) for i in range(7)) / 7, 1),
            "unique_visitors": people(0),
            "unique_visitors_delta": people(0) - people(1),
            "unique_visitors_avg7": round(sum(people(i) for i in range(7)) / 7, 1),
            "inactive_venues": sum(v.created_day <= day_of(3) and v.code not in recent for v in inside),
            "children": None,
        }
        assert report.checkins > 0 and report.inactive_venues > 0
    city = await build_report(repos.stats, REGIONS, HANOI.id, D)
    by_ward: dict[str, int] = defaultdict(int)
    for visit in visits:
        if visit["day"] == D.isoformat():
            by_ward[visit["regions"][-1]] += 1
    expected = sorted(by_ward.items(), key=lambda item: (-item[1], item[0]))[:10]
    assert [(c.region, c.checkins) for c in city.children] == expected
