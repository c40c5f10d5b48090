"""Demo data: the bulk loader leaves exactly the documents and counters the live check-in path leaves."""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app.embedded import CONFIG_FILE, EmbeddedDatabase
from bot.app.settings import Settings
from bot.checkins import Checkins, Recorded
from bot.clock import ManualClock
from bot.demo import DEMO_USER_BASE, DemoData, DemoSpec, region_wards
from bot.regions import load_catalogue
from storage.bulk import BulkLoader, BulkVenue, BulkVisit, run_bulk_load
from storage.checkins import VisitDraft
from storage.database import Repos
from storage.models import NewVenue, Venue
from storage.probe import ping

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LAST_DAY = date(2026, 11, 18)
LAST_DAY_START = datetime(2026, 11, 18, tzinfo=TZ)
COLLECTIONS = ("venues", "visitor_days", "venue_days", "region_days", "region_totals")


@pytest.fixture
async def bulk_repos(settings: Settings) -> AsyncIterator[Repos]:
    """A second fresh database on the same server, for the bulk path."""
    assert settings.mongodb_uri is not None
    opened = Repos.open(
        settings.mongodb_uri.get_secret_value(), f"b_{uuid.uuid4().hex[:12]}", tz=TZ, retention_days=21
    )
    await opened.ensure_indexes()
    try:
        yield opened
    finally:
        await opened.drop_database()
        await opened.close()


def local(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def edge_cases(venues: list[Venue]) -> list[BulkVisit]:
    """Re-scans that continue a visit (after a check-out, across midnight, with people added, over the cap),
    and scans elsewhere that end a visit."""
    venue = next(v for v in venues if v.created_day < "2026-11-14")
    other = next(v for v in venues if v.created_day < "2026-11-14" and v.code != venue.code)
    d1, d2 = LAST_DAY - timedelta(days=1), LAST_DAY
    u1, u2, u3, u4, u5, u6 = (DEMO_USER_BASE + 900_000 + i for i in range(6))

    def visit(v: Venue, user: int, at: datetime, party: int = 1, out: datetime | None = None) -> BulkVisit:
        return BulkVisit(VisitDraft(v, user, at, party), checkout_at=out)

    return [
        # checked out at 10:10, scans again at 10:20 with a friend: re-opened, party 2, then out at 10:50
        visit(venue, u1, local(d1, 10, 0), out=local(d1, 10, 10)),
        visit(venue, u1, local(d1, 10, 20), party=2, out=local(d1, 10, 50)),
        # 23:50 and again at 00:05 with two more people: the people count lands on the first day
        visit(venue, u2, local(d1, 23, 50)),
        visit(venue, u2, local(d2, 0, 5), party=3),
        # re-scan while still inside; the earlier of the two check-outs ends the visit
        visit(other, u3, local(d2, 11, 0), out=local(d2, 11, 40)),
        visit(other, u3, local(d2, 11, 20), out=local(d2, 11, 25)),
        # a party of 12 is capped at 10; 31 minutes later it is a new visit
        visit(other, u4, local(d2, 12, 0), party=12),
        visit(other, u4, local(d2, 12, 31)),
        # a check-out at the automatic check-out time is too late to count
        visit(venue, u4, local(d2, 15, 0), out=local(d2, 17, 0)),
        # one place at a time: the scan at 09:10 ends the first visit, coming back at 09:20 ends the second
        visit(venue, u5, local(d1, 9, 0), out=local(d1, 9, 50)),
        visit(other, u5, local(d1, 9, 10)),
        visit(venue, u5, local(d1, 9, 20)),
        # a new visit at the same place an hour on ends the one still open there; its later check-out is void
        visit(venue, u6, local(d1, 14, 0), out=local(d1, 15, 30)),
        visit(venue, u6, local(d1, 15, 0)),
    ]


def small_demo(seed: int = 7) -> tuple[DemoData, list[BulkVenue]]:
    regions = load_catalogue()
    spec = DemoSpec(
        region=regions.match_province("Hà Nội"),
        venues=80,
        days=5,
        checkins_per_day=120,
        last_day=LAST_DAY,
        seed=seed,
    )
    demo = DemoData(spec, regions, TZ)
    return demo, demo.venues()


def all_visits(demo: DemoData, venues: list[Venue]) -> list[BulkVisit]:
    return sorted([*demo.visits(venues), *edge_cases(venues)], key=lambda item: item.draft.at)


async def replay_live(repos: Repos, venues: list[BulkVenue], visits: list[BulkVisit]) -> dict[str, Venue]:
    """The same venues and visits through VenueRepo.create and the check-in use case, in time order."""
    live: dict[str, Venue] = {}
    for item in venues:
        day = item.created_at.astimezone(TZ).date().isoformat()
        live[item.code] = await repos.venues.create(
            item.new, now=item.created_at, day=day, new_code=lambda: "", code=item.code
        )
    clock = ManualClock(LAST_DAY_START)
    checkins = Checkins(venues=repos.venues, visits=repos.checkins, clock=clock)
    seq = itertools.count()
    # (moment, 0 = check-out / 1 = check-in, order, payload): a check-out at the moment of a scan goes first
    events: list[tuple[datetime, int, int, Any]] = [(v.draft.at, 1, next(seq), v) for v in visits]
    heapq.heapify(events)
    while events:
        moment, kind, _, payload = heapq.heappop(events)
        clock.set(moment)
        if kind == 0:
            visit_id, user_id = payload
            await checkins.check_out(user_id, visit_id)
            continue
        draft = payload.draft
        outcome = await checkins.record(draft.user_id, draft.venue.code)
        assert isinstance(outcome, Recorded)
        for _ in range(draft.party - 1):
            await checkins.add_person(draft.user_id, outcome.visit.id)
        if payload.checkout_at is not None:
            heapq.heappush(events, (payload.checkout_at, 0, next(seq), (outcome.visit.id, draft.user_id)))
    return live


async def documents(repos: Repos, collection: str) -> dict[str, dict[str, Any]]:
    return {doc["_id"]: doc for doc in await repos.db[collection].find({}).to_list()}


async def visits_without_ids(repos: Repos) -> list[dict[str, Any]]:
    docs = await repos.db["visits"].find({}, projection={"_id": 0}).to_list()
    return sorted(docs, key=lambda d: (d["user_id"], d["venue_code"], d["checkin_at"]))


async def index_keys(repos: Repos, collection: str) -> list[Any]:
    return sorted(
        [
            (index["name"], index.get("expireAfterSeconds"))
            async for index in await repos.db[collection].list_indexes()
        ]
    )


@pytest.mark.parametrize(("batch", "fresh"), [(7, True), (500, False)])
async def test_bulk_load_leaves_exactly_what_the_live_path_leaves(
    repos: Repos, bulk_repos: Repos, batch: int, fresh: bool
) -> None:
    demo, venues = small_demo()
    # Loaded as of noon on the last day: the visitor marks of earlier days have expired, as the
    # TTL monitor would have removed the live path's.
    now = local(LAST_DAY, 12, 0)
    loader = BulkLoader(bulk_repos, tz=TZ, retention_days=21, batch_size=batch, defer_indexes=fresh, now=now)
    async with loader:
        registered = loader.add_venues(venues)
        visits = all_visits(demo, registered)
        await loader.add_visits(visits)
        result = await loader.finish()
    await replay_live(repos, venues, visits)

    live_visits, bulk_visits = await visits_without_ids(repos), await visits_without_ids(bulk_repos)
    assert result.continued >= 3, "the edge cases hold three re-scans that continue a visit"
    assert len(live_visits) == len(visits) - result.continued == result.written["visits"]
    assert bulk_visits == live_visits
    # Marks still alive at `now`: the last day's, one per person who checked in that day.
    alive = {f"{doc['day']}|{doc['user_id']}" for doc in live_visits if doc["day"] == LAST_DAY.isoformat()}
    for collection in COLLECTIONS:
        live_docs, bulk_docs = await documents(repos, collection), await documents(bulk_repos, collection)
        if collection == "visitor_days":
            # The marks' expiry lies in the real past for these fixed dates, so the server's TTL
            # monitor may remove marks on either side at any moment: compare what the loader wrote
            # by count, and the marks both sides still hold by content.
            assert result.written.get("visitor_days", 0) == len(alive) > 0
            assert all(doc["expires_at"] > now for doc in bulk_docs.values())
            live_docs = {key: doc for key, doc in live_docs.items() if key in alive}
            live_docs = {key: doc for key, doc in live_docs.items() if key in bulk_docs}
            bulk_docs = {key: doc for key, doc in bulk_docs.items() if key in live_docs}
        assert bulk_docs.keys() == live_docs.keys(), collection
        different = [key for key in live_docs if live_docs[key] != bulk_docs[key]]
        assert not different, (
            collection,
            different[:3],
            [
                {
                    f: (live_docs[k].get(f), bulk_docs[k].get(f))
                    for f in live_docs[k] | bulk_docs[k]
                    if live_docs[k].get(f) != bulk_docs[k].get(f)
                }
                for k in different[:3]
            ],
        )
    for collection in ("venues", "visits", "visitor_days", "venue_days"):
        assert await index_keys(bulk_repos, collection) == await index_keys(repos, collection)

    # The data set really exercised what it claims to.
    by_user = {doc["user_id"]: doc for doc in live_visits if doc["user_id"] >= DEMO_USER_BASE + 900_000}
    assert by_user[DEMO_USER_BASE + 900_000]["party"] == 2
    assert by_user[DEMO_USER_BASE + 900_000]["checkout_at"] == local(LAST_DAY - timedelta(days=1), 10, 50)
    assert by_user[DEMO_USER_BASE + 900_002]["checkout_at"] == local(LAST_DAY, 11, 25)
    capped = [d for d in live_visits if d["user_id"] == DEMO_USER_BASE + 900_003]
    assert sorted(d["party"] for d in capped) == [1, 1, 10]
    assert any(d["checkout_at"] is not None for d in live_visits)
    region_days = await documents(repos, "region_days")
    assert any(doc.get("active3") for doc in region_days.values())
    assert any(doc.get("venues_new") and not doc.get("checkins") for doc in region_days.values())


async def test_the_loader_refuses_what_the_bot_could_not_do(bulk_repos: Repos) -> None:
    _, venues = small_demo()
    async with BulkLoader(bulk_repos, tz=TZ, retention_days=21) as loader:
        registered = loader.add_venues(venues[:2])
        venue = registered[0]
        with pytest.raises(ValueError, match="before it was registered"):
            await loader.add_visits(
                [BulkVisit(VisitDraft(venue, 1, venue.created_at - timedelta(minutes=1)))]
            )
        later = venue.created_at + timedelta(days=2)
        await loader.add_visits([BulkVisit(VisitDraft(venue, 1, later))])
        with pytest.raises(ValueError, match="order of check-in time"):
            await loader.add_visits([BulkVisit(VisitDraft(venue, 2, later - timedelta(seconds=1)))])
        stranger = NewVenue(name="x", address="y", category="shop", regions=("vn",))
        with pytest.raises(ValueError, match="did not add"):
            await loader.add_visits(
                [
                    BulkVisit(
                        VisitDraft(
                            Venue(
                                "ZZZZZZZZ",
                                "x",
                                "y",
                                "shop",
                                ("vn",),
                                None,
                                None,
                                (),
                                True,
                                later,
                                "2026-01-01",
                            ),
                            1,
                            later,
                        )
                    )
                ]
            )
        with pytest.raises(ValueError, match="added twice"):
            loader.add_venues([BulkVenue(venues[0].code, stranger, venue.created_at)])


async def test_deferring_indexes_needs_empty_collections(bulk_repos: Repos) -> None:
    await bulk_repos.db["visits"].insert_one({"x": 1})
    with pytest.raises(ValueError, match="empty visits"):
        async with BulkLoader(bulk_repos, tz=TZ, retention_days=21, defer_indexes=True):
            pass


def test_demo_data_is_seeded_and_shaped_like_the_city() -> None:
    demo, venues = small_demo(seed=11)
    _, venues_again = small_demo(seed=11)
    assert venues == venues_again, "same seed, same venues"
    _, venues_other = small_demo(seed=12)
    assert [v.code for v in venues] != [v.code for v in venues_other]

    regions = load_catalogue()
    hanoi = regions.match_province("Hà Nội")
    wards = {ward.id for ward in region_wards(regions, hanoi)}
    assert all(v.new.regions[-1] in wards and v.new.regions[:2] == ("vn", hanoi.id) for v in venues)
    assert len({v.new.regions[-1] for v in venues}) > 20, "spread across the wards"
    assert len({v.new.category for v in venues}) >= 6
    assert len({v.code for v in venues}) == len(venues)

    # At Hanoi's proportions new venues appear on every loaded day (and the six before, for averages).
    big = DemoData(
        DemoSpec(region=hanoi, venues=20_000, days=7, checkins_per_day=0, last_day=LAST_DAY, seed=3),
        regions,
        TZ,
    )
    created = Counter(v.created_at.astimezone(TZ).date() for v in big.venues())
    recent = [LAST_DAY - timedelta(days=i) for i in range(13)]
    assert all(created[day] > 50 for day in recent)
    assert max(created) == LAST_DAY

    registered = [
        Venue(b.code, b.new.name, b.new.address, b.new.category, b.new.regions, None, None, (), True,
              b.created_at, b.created_at.astimezone(TZ).date().isoformat())
        for b in venues
    ]  # fmt: skip
    visits = list(demo.visits(registered))
    assert sum(demo.daily_checkins.values()) == len(visits) == demo.total_checkins
    assert [v.draft.at for v in visits] == sorted(v.draft.at for v in visits)
    hours = Counter(v.draft.at.astimezone(TZ).hour for v in visits)
    assert hours[12] + hours[18] > 4 * (hours[2] + hours[3] + 1), "daytime peaks"
    scanned = {v.draft.venue.code for v in visits}
    assert len(scanned) < 0.8 * len(venues), "a share of venues never scans"
    per_day = Counter((v.draft.at.astimezone(TZ).date(), v.draft.user_id) for v in visits)
    assert any(n > 1 for n in per_day.values()), "repeat visitors within a day"
    people = {v.draft.user_id for v in visits}
    assert len(people) < len(visits) and min(people) >= DEMO_USER_BASE
    assert all(v.draft.venue.created_day < v.draft.at.astimezone(TZ).date().isoformat() for v in visits)


async def test_run_bulk_load_reports_what_it_wrote(bulk_repos: Repos) -> None:
    demo, venues = small_demo(seed=5)
    seen: Counter[str] = Counter()
    result = await run_bulk_load(
        bulk_repos,
        venues,
        demo.visits,
        tz=TZ,
        retention_days=21,
        progress=lambda collection, n: seen.update({collection: n}),
    )
    assert dict(seen) == result.written
    assert result.written["venues"] == 80 == await bulk_repos.venues.count()
    assert result.written["visits"] == await bulk_repos.db["visits"].count_documents({})
    assert result.total == sum(result.written.values())


async def test_a_batch_cut_off_by_a_dropped_connection_is_inserted_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A busy server can make the driver reset its connections mid-load: the batch is retried."""
    data_dir = tmp_path / "faulty"
    data_dir.mkdir()
    (data_dir / CONFIG_FILE).write_text("[server]\nenable_test_commands = true\n", encoding="utf-8")
    demo, venues = small_demo(seed=11)
    async with EmbeddedDatabase(data_dir, ping=ping) as server:
        repos = Repos.open(server.uri, "faulty", tz=TZ, retention_days=21)
        try:
            # The server drops the connection of the next two inserts, whatever they carry.
            await repos.client.admin.command(
                {
                    "configureFailPoint": "failCommand",
                    "mode": {"times": 2},
                    "data": {"failCommands": ["insert"], "closeConnection": True},
                }
            )
            async with BulkLoader(repos, tz=TZ, retention_days=21, batch_size=50, retry_delay=0) as loader:
                registered = loader.add_venues(venues)
                await loader.add_visits(demo.visits(registered))
                result = await loader.finish()
            for collection in ("venues", "visits", "venue_days"):
                stored = await repos.db[collection].count_documents({})
                assert stored == result.written[collection] > 0, collection
        finally:
            await repos.close()
    retries = [record for record in caplog.records if "retrying" in record.getMessage()]
    assert len(retries) == 2
