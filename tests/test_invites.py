"""The invite mechanism without Telegram: one record per invite, one redeem, staff and officials joining."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.invites import (
    DEFAULT_TTL,
    CreateInvite,
    JoinAsOfficial,
    JoinAsStaff,
    JoinOutcome,
    OfficialJoin,
    StaffJoin,
)
from bot.officials import Actor
from bot.staff import StaffNotices, VenueStaff
from storage.database import Repos
from storage.errors import NotFound
from storage.invites import INVITE_KEEP, Invite, InviteExpired, InviteKind, InviteUsed
from storage.models import NewVenue, Venue

OWNER = Actor(7101, "Chủ quán")
ADMIN = Actor(900001, "Admin")
LAN = Actor(7102, "Lan")
MINH = Actor(7103, "Minh")
WARD = "vn/1/4"


async def make_venue(repos: Repos, clock: ManualClock) -> Venue:
    new = NewVenue(
        name="Quán Giảng",
        address="39 Nguyễn Hữu Huân",
        category="food",
        regions=("vn", "vn/1", WARD),
        owner_id=OWNER.user_id,
    )
    return await repos.venues.create(new, now=clock.now(), day="2026-11-19", new_code=lambda: "K7Q2XH4M")


def create_invite(repos: Repos, clock: ManualClock) -> CreateInvite:
    return CreateInvite(repos.invites, repos.audit, clock)


def join_as_staff(repos: Repos, clock: ManualClock) -> JoinAsStaff:
    return JoinAsStaff(repos.invites, repos.venues, StaffNotices(repos.users, repos.outbox, clock), clock)


def join_as_official(repos: Repos, clock: ManualClock) -> JoinAsOfficial:
    return JoinAsOfficial(repos.invites, repos.officials, repos.audit, clock)


async def official_invite(repos: Repos, clock: ManualClock, ttl: timedelta = DEFAULT_TTL) -> Invite:
    return await create_invite(repos, clock)(InviteKind.OFFICIAL, WARD, ADMIN, ttl)


# ---- The repository: one redeem for every kind ----------------------------------------------------------


async def test_an_invite_can_be_spent_once(repos: Repos, clock: ManualClock) -> None:
    invite = await official_invite(repos, clock)
    assert invite.is_open(clock.now()) and invite.expires_at == clock.now() + timedelta(hours=72)
    spent = await repos.invites.redeem(invite.token, InviteKind.OFFICIAL, LAN.user_id, clock.now())
    assert (spent.used_by, spent.used_at) == (LAN.user_id, clock.now())
    assert not spent.is_open(clock.now())
    with pytest.raises(InviteUsed):
        await repos.invites.redeem(invite.token, InviteKind.OFFICIAL, MINH.user_id, clock.now())
    with pytest.raises(InviteUsed):
        await repos.invites.redeem(invite.token, InviteKind.OFFICIAL, LAN.user_id, clock.now())
    stored = await repos.invites.get(invite.token, InviteKind.OFFICIAL)
    assert stored is not None and stored.used_by == LAN.user_id, "the second opener did not overwrite it"


async def test_an_expired_invite_is_refused_from_its_last_second(repos: Repos, clock: ManualClock) -> None:
    invite = await official_invite(repos, clock, ttl=timedelta(hours=1))
    with pytest.raises(InviteExpired):
        await repos.invites.redeem(invite.token, InviteKind.OFFICIAL, LAN.user_id, invite.expires_at)
    just_before = invite.expires_at - timedelta(seconds=1)
    spent = await repos.invites.redeem(invite.token, InviteKind.OFFICIAL, LAN.user_id, just_before)
    assert spent.used_by == LAN.user_id


async def test_an_invite_of_another_kind_is_not_found_and_stays_open(
    repos: Repos, clock: ManualClock
) -> None:
    venue = await make_venue(repos, clock)
    staff = await create_invite(repos, clock)(InviteKind.STAFF, venue.code, OWNER)
    with pytest.raises(NotFound):
        await repos.invites.redeem(staff.token, InviteKind.OFFICIAL, LAN.user_id, clock.now())
    assert await repos.invites.get(staff.token, InviteKind.OFFICIAL) is None
    joined = await join_as_official(repos, clock)(staff.token, LAN)
    assert joined == OfficialJoin(JoinOutcome.NOT_FOUND)
    assert await repos.officials.get(LAN.user_id) is None
    [still_open] = await repos.invites.open_for(InviteKind.STAFF, venue.code, clock.now())
    assert still_open.token == staff.token and still_open.used_by is None


async def test_an_unknown_token_is_not_found(repos: Repos, clock: ManualClock) -> None:
    with pytest.raises(NotFound):
        await repos.invites.redeem("0123456789abcdef", InviteKind.STAFF, LAN.user_id, clock.now())


async def test_of_many_people_opening_one_link_at_once_only_one_wins(
    repos: Repos, clock: ManualClock
) -> None:
    invite = await official_invite(repos, clock)
    people = list(range(8000, 8012))
    results = await asyncio.gather(
        *(repos.invites.redeem(invite.token, InviteKind.OFFICIAL, person, clock.now()) for person in people),
        return_exceptions=True,
    )
    winners = [result for result in results if isinstance(result, Invite)]
    assert len(winners) == 1
    assert all(isinstance(result, InviteUsed) for result in results if not isinstance(result, Invite))
    stored = await repos.invites.get(invite.token, InviteKind.OFFICIAL)
    assert stored is not None and stored.used_by == winners[0].used_by


async def test_of_two_people_joining_as_officials_at_once_only_one_becomes_one(
    repos: Repos, clock: ManualClock
) -> None:
    invite = await official_invite(repos, clock)
    join = join_as_official(repos, clock)
    first, second = await asyncio.gather(join(invite.token, LAN), join(invite.token, MINH))
    assert sorted([first.outcome, second.outcome]) == sorted([JoinOutcome.JOINED, JoinOutcome.USED])
    assert len(await repos.officials.all()) == 1
    assert [entry.action for entry in await repos.audit.since()] == ["join", "invite"]


async def test_cancelled_invites_are_expired(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock)
    issue = create_invite(repos, clock)
    first = await issue(InviteKind.STAFF, venue.code, OWNER)
    await issue(InviteKind.STAFF, venue.code, OWNER)
    await repos.invites.redeem(first.token, InviteKind.STAFF, LAN.user_id, clock.now())
    assert await repos.invites.revoke_open(InviteKind.STAFF, venue.code, clock.now()) == 1
    assert await repos.invites.open_for(InviteKind.STAFF, venue.code, clock.now()) == []
    assert (await join_as_staff(repos, clock)(first.token, MINH)).outcome is JoinOutcome.USED


async def test_invites_are_deleted_by_a_ttl_index_after_they_end(repos: Repos) -> None:
    indexes = await repos.db["invites"].index_information()
    ttl = [spec for spec in indexes.values() if "expireAfterSeconds" in spec]
    assert [(spec["key"], spec["expireAfterSeconds"]) for spec in ttl] == [
        ([("expires_at", 1)], int(INVITE_KEEP.total_seconds()))
    ]
    names = set(await repos.db.list_collection_names())
    assert not names & {"staff_invites", "official_invites"}, "one collection for every kind"


# ---- Use cases -------------------------------------------------------------------------------------------


async def test_only_official_invites_are_audited(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock)
    issue = create_invite(repos, clock)
    await issue(InviteKind.STAFF, venue.code, OWNER)
    invite = await issue(InviteKind.OFFICIAL, WARD, ADMIN, timedelta(days=3))
    [entry] = await repos.audit.since()
    assert (entry.action, entry.actor_id, entry.region) == ("invite", ADMIN.user_id, WARD)
    assert entry.detail == f"expires {invite.expires_at:%Y-%m-%d %H:%M}Z"


async def test_joining_as_an_official(repos: Repos, clock: ManualClock) -> None:
    invite = await official_invite(repos, clock)
    joined = await join_as_official(repos, clock)(invite.token, LAN)
    assert joined.outcome is JoinOutcome.JOINED and joined.official is not None
    official = await repos.officials.get(LAN.user_id)
    assert official == joined.official
    assert (official.region, official.name, official.invited_by) == (WARD, "Lan", ADMIN.user_id)
    entry = (await repos.audit.since())[0]
    assert (entry.action, entry.actor_id, entry.actor_name, entry.region) == (
        "join",
        LAN.user_id,
        "Lan",
        WARD,
    )

    clock.advance(timedelta(hours=73))
    late = await official_invite(repos, clock, ttl=timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    assert (await join_as_official(repos, clock)(late.token, MINH)).outcome is JoinOutcome.EXPIRED
    assert await repos.officials.get(MINH.user_id) is None


async def test_joining_as_staff_tells_the_owner_in_their_language(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock)
    await repos.users.touch(
        OWNER.user_id,
        display_name="Chủ",
        telegram_language="en",
        now=clock.now(),
        expires_at=clock.now() + timedelta(days=21),
    )
    invite = await create_invite(repos, clock)(InviteKind.STAFF, venue.code, OWNER)
    join = join_as_staff(repos, clock)

    assert (await join(invite.token, OWNER)).outcome is JoinOutcome.OWNER
    joined = await join(invite.token, LAN)
    assert joined.outcome is JoinOutcome.JOINED and joined.venue is not None
    assert joined.venue.staff_ids == (LAN.user_id,)
    note = await repos.outbox.get(f"staff-joined:{invite.token}")
    assert note is not None and (note["chat_id"], note["kind"]) == (OWNER.user_id, "staff-joined")
    assert note["text"] == "Lan joined Quán Giảng as staff. /myvenues → Staff lists and removes staff."

    assert (await join(invite.token, MINH)).outcome is JoinOutcome.USED
    second = await create_invite(repos, clock)(InviteKind.STAFF, venue.code, OWNER)
    assert (await join(second.token, LAN)).outcome is JoinOutcome.ALREADY_STAFF
    assert [i.token for i in await repos.invites.open_for(InviteKind.STAFF, venue.code, clock.now())] == [
        second.token
    ], "neither the owner nor existing staff spend a link"


async def test_a_staff_invite_of_a_deleted_venue_is_not_found(repos: Repos, clock: ManualClock) -> None:
    invite = await create_invite(repos, clock)(InviteKind.STAFF, "GONE2345", OWNER)
    assert await join_as_staff(repos, clock)(invite.token, LAN) == StaffJoin(JoinOutcome.NOT_FOUND)
    assert (await repos.invites.get(invite.token, InviteKind.STAFF)) == invite, "not spent"


async def test_removing_staff(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock)
    staff = VenueStaff(
        repos.venues, repos.users, repos.invites, StaffNotices(repos.users, repos.outbox, clock), clock
    )
    venue = await repos.venues.add_staff(venue.code, LAN.user_id)
    await repos.users.touch(
        LAN.user_id,
        display_name="Lan",
        telegram_language="vi",
        now=clock.now(),
        expires_at=clock.now() + timedelta(days=21),
    )
    roster = await staff.roster(venue)
    assert [(m.user_id, m.name) for m in roster.members] == [(LAN.user_id, "Lan")]
    assert roster.open_invites == 0

    removal = await staff.remove(venue, LAN.user_id)
    assert removal.removed and removal.venue.staff_ids == ()
    again = await staff.remove(venue, LAN.user_id)  # the old venue still lists Lan: a second press
    assert not again.removed and again.venue.staff_ids == ()
    assert not (await staff.remove(removal.venue, None)).removed
    notices = await repos.db["outbox"].find({"kind": "staff-removed"}).to_list()
    assert [(n["chat_id"], n["text"]) for n in notices] == [
        (
            LAN.user_id,
            "Bạn không còn quyền truy cập Quán Giảng: chủ địa điểm đã xoá bạn khỏi danh sách nhân viên.",
        )
    ]


async def test_forgetting_a_person_keeps_their_invites_spent(repos: Repos, clock: ManualClock) -> None:
    lans = await official_invite(repos, clock)
    other = await official_invite(repos, clock)
    await repos.invites.redeem(lans.token, InviteKind.OFFICIAL, LAN.user_id, clock.now())
    await repos.invites.redeem(other.token, InviteKind.OFFICIAL, MINH.user_id, clock.now())
    assert await repos.invites.forget_user(LAN.user_id) == 1
    forgotten = await repos.invites.get(lans.token, InviteKind.OFFICIAL)
    assert forgotten is not None and (forgotten.used_by, forgotten.used_at) == (None, clock.now())
    assert await repos.db["invites"].count_documents({"used_by": LAN.user_id}) == 0
    with pytest.raises(InviteUsed):
        await repos.invites.redeem(lans.token, InviteKind.OFFICIAL, MINH.user_id, clock.now())
    kept = await repos.invites.get(other.token, InviteKind.OFFICIAL)
    assert kept is not None and kept.used_by == MINH.user_id
