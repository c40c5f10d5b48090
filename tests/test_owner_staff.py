"""Staff stories: one-time invite links (72 hours), joining, listing, removing (with a notice), refusals."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.app.delivery import drain_outbox
from bot.payload import PayloadKind, sign_payload
from bot.venues import venue_request
from storage.errors import NotFound
from storage.invites import InviteExpired, InviteKind, InviteUsed
from storage.models import Venue
from tests.harness import BotHarness, button_data, buttons, texts

OWNER = 6201
HELPER = 6202
SECOND = 6203
STRANGER = 6204


async def make_venue(bot: BotHarness) -> Venue:
    regions = bot.container.regions
    hanoi = regions.match_province("Hà Nội")
    request = venue_request(
        name="Quán cà phê Giảng",
        address="39 Nguyễn Hữu Huân",
        region=regions.match_ward(hanoi.id, "Hoàn Kiếm"),
        category="food",
        owner_id=OWNER,
    )
    return await bot.container.venues.register(request)


async def invite_link(bot: BotHarness, venue: Venue) -> str:
    """The owner asks for an invite; returns the `start` payload of the link the bot sent."""
    calls = await bot.press(OWNER, f"ven:invite:{venue.code}", language_code="en")
    link_text = next(t for t in texts(calls) if "t.me/" in t)
    match = re.search(r"start=(s-[A-Za-z0-9_-]+)", link_text)
    assert match is not None, link_text
    return match.group(1)


async def test_an_invite_makes_the_opener_staff_once(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await bot.press(OWNER, f"ven:invite:{venue.code}", language_code="en")
    said = next(t for t in texts(calls) if "t.me/" in t)
    assert "works once" in said and "22/11/2026" in said, "valid for 72 hours from 19/11 09:00"
    payload = re.search(r"start=(s-[A-Za-z0-9_-]+)", said).group(1)  # type: ignore[union-attr]

    joined = texts(await bot.send(HELPER, f"/start {payload}", language_code="en"))
    assert any("You are now staff of Quán cà phê Giảng" in t for t in joined)
    assert (await bot.repos.venues.require(venue.code)).staff_ids == (HELPER,)
    note = await bot.repos.outbox.get(f"staff-joined:{payload.split('-')[1]}")
    assert note is not None and note["chat_id"] == OWNER and note["kind"] == "staff-joined"
    assert "Quán cà phê Giảng" in note["text"]

    reused = texts(await bot.send(SECOND, f"/start {payload}", language_code="en"))
    assert any("already used" in t for t in reused)
    assert (await bot.repos.venues.require(venue.code)).staff_ids == (HELPER,)


async def test_an_expired_invite_is_refused(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    payload = await invite_link(bot, venue)
    bot.clock.advance(timedelta(hours=72, seconds=1))
    said = texts(await bot.send(HELPER, f"/start {payload}", language_code="en"))
    assert any("expired" in t and "72 hours" in t for t in said)
    assert (await bot.repos.venues.require(venue.code)).staff_ids == ()


async def test_an_invite_still_works_just_before_72_hours(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    payload = await invite_link(bot, venue)
    bot.clock.advance(timedelta(hours=71, minutes=59))
    said = texts(await bot.send(HELPER, f"/start {payload}", language_code="en"))
    assert any("You are now staff" in t for t in said)


async def test_the_owner_opening_their_own_invite_does_not_spend_it(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    payload = await invite_link(bot, venue)
    said = texts(await bot.send(OWNER, f"/start {payload}", language_code="en"))
    assert any("You own" in t for t in said)
    assert (await bot.repos.venues.require(venue.code)).staff_ids == ()
    said = texts(await bot.send(HELPER, f"/start {payload}", language_code="en"))
    assert any("You are now staff" in t for t in said)


async def test_existing_staff_opening_another_invite_does_not_spend_it(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.send(HELPER, f"/start {await invite_link(bot, venue)}", language_code="en")
    second = await invite_link(bot, venue)
    said = texts(await bot.send(HELPER, f"/start {second}", language_code="en"))
    assert any("already staff" in t for t in said)
    said = texts(await bot.send(SECOND, f"/start {second}", language_code="en"))
    assert any("You are now staff" in t for t in said)
    assert set((await bot.repos.venues.require(venue.code)).staff_ids) == {HELPER, SECOND}


@pytest.mark.parametrize(
    "payload",
    ["s-0123456789abcdef-AAAAAAAAAAAAAAAA", "s-0123456789abcdef", "s-" + "a" * 70],
)
async def test_forged_invites_are_refused(bot: BotHarness, payload: str) -> None:
    await make_venue(bot)
    said = texts(await bot.send(HELPER, f"/start {payload}", language_code="en"))
    assert any("not valid" in t for t in said)
    assert await bot.repos.db["venues"].count_documents({"staff_ids": HELPER}) == 0


async def test_a_signed_invite_that_was_never_issued_is_refused(bot: BotHarness) -> None:
    await make_venue(bot)
    payload = sign_payload(bot.container.signer.secret, PayloadKind.STAFF_INVITE, "0123456789abcdef")
    said = texts(await bot.send(HELPER, f"/start {payload}", language_code="en"))
    assert any("not valid" in t for t in said)


async def test_staff_list_and_removal(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.send(HELPER, f"/start {await invite_link(bot, venue)}", language_code="en", first_name="Lan")
    await bot.send(SECOND, f"/start {await invite_link(bot, venue)}", language_code="en", first_name="Minh")
    calls = await bot.press(OWNER, f"ven:staff:{venue.code}", language_code="en")
    panel = next(c for c in calls if c.method == "editMessageText")
    assert "• Lan" in panel.text and "• Minh" in panel.text
    assert ("✖ Remove Lan", f"ven:unstaff:{venue.code}:{HELPER}") in buttons(panel)

    calls = await bot.press(OWNER, f"ven:unstaff:{venue.code}:{HELPER}", language_code="en")
    assert any("Removed" in t for t in texts(calls))
    assert (await bot.repos.venues.require(venue.code)).staff_ids == (SECOND,)
    refused = texts(await bot.press(HELPER, f"ven:today:{venue.code}", language_code="en"))
    assert any("not your venue" in t for t in refused), "removed staff lose access at once"
    again = texts(await bot.press(OWNER, f"ven:unstaff:{venue.code}:{HELPER}", language_code="en"))
    assert any("not staff" in t for t in again)
    assert (await bot.repos.venues.require(venue.code)).staff_ids == (SECOND,)


async def removal_notices(bot: BotHarness) -> list[dict]:
    return await bot.repos.db["outbox"].find({"kind": "staff-removed"}, sort=[("created_at", 1)]).to_list()


async def test_a_removed_staff_member_is_told_once_in_their_language(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.send(HELPER, f"/start {await invite_link(bot, venue)}", language_code="vi", first_name="Lan")
    await bot.send(SECOND, f"/start {await invite_link(bot, venue)}", language_code="en", first_name="Minh")

    await bot.press(OWNER, f"ven:unstaff:{venue.code}:{HELPER}", language_code="en")
    await bot.press(OWNER, f"ven:unstaff:{venue.code}:{HELPER}", language_code="en")  # a second press
    await bot.press(OWNER, f"ven:unstaff:{venue.code}:{SECOND}", language_code="en")
    notices = await removal_notices(bot)
    assert [(n["chat_id"], n["state"]) for n in notices] == [(HELPER, "pending"), (SECOND, "pending")]
    assert notices[0]["text"] == (
        "Bạn không còn quyền truy cập Quán cà phê Giảng: chủ địa điểm đã xoá bạn khỏi danh sách nhân viên."
    )
    assert notices[1]["text"] == (
        "You no longer have access to Quán cà phê Giảng: its owner removed you from its staff."
    )
    assert notices[0]["meta"] == {"venue": venue.code}

    bot.api.clear()
    await drain_outbox(bot.container.settings, bot.repos.outbox, bot.repos.users, clock=bot.clock)
    sent = [(int(c.params["chat_id"]), c.text) for c in bot.api.calls_of("sendMessage")]
    to_former_staff = sorted(item for item in sent if item[0] != OWNER)  # the owner had join notices
    assert to_former_staff == [(HELPER, notices[0]["text"]), (SECOND, notices[1]["text"])]
    assert await bot.repos.outbox.states([n["_id"] for n in notices]) == {
        notices[0]["_id"]: "sent",
        notices[1]["_id"]: "sent",
    }

    # Invited again and removed again later: that is a new removal, and a new notice.
    bot.clock.advance(timedelta(days=2))
    await bot.send(HELPER, f"/start {await invite_link(bot, venue)}", language_code="vi")
    await bot.press(OWNER, f"ven:unstaff:{venue.code}:{HELPER}", language_code="en")
    assert [n["chat_id"] for n in await removal_notices(bot)] == [HELPER, SECOND, HELPER]


async def test_removing_someone_who_blocked_the_bot_still_removes_them(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.send(HELPER, f"/start {await invite_link(bot, venue)}", language_code="en")
    bot.api.block(HELPER)
    calls = await bot.press(OWNER, f"ven:unstaff:{venue.code}:{HELPER}", language_code="en")
    assert any("Removed from the staff of Quán cà phê Giảng" in t for t in texts(calls))
    assert any("No staff yet." in t for t in texts(calls)), "the owner sees the updated panel"
    assert (await bot.repos.venues.require(venue.code)).staff_ids == ()

    await drain_outbox(bot.container.settings, bot.repos.outbox, bot.repos.users, clock=bot.clock)
    [notice] = await removal_notices(bot)
    assert (notice["chat_id"], notice["state"], notice["reason"]) == (HELPER, "failed", "blocked")
    assert (await bot.repos.venues.require(venue.code)).staff_ids == ()
    refused = texts(await bot.press(HELPER, f"ven:today:{venue.code}", language_code="en"))
    assert any("not your venue" in t for t in refused)


async def test_only_one_of_two_racing_removals_succeeds(bot: BotHarness) -> None:
    venue = await bot.repos.venues.add_staff((await make_venue(bot)).code, HELPER)
    removed = await bot.repos.venues.remove_staff(venue.code, HELPER)
    assert removed.staff_ids == ()
    with pytest.raises(NotFound):
        await bot.repos.venues.remove_staff(venue.code, HELPER)


async def test_staff_cannot_invite_or_remove(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.send(HELPER, f"/start {await invite_link(bot, venue)}", language_code="en")
    await bot.send(SECOND, f"/start {await invite_link(bot, venue)}", language_code="en")
    invites_before = await bot.repos.db["invites"].count_documents({})
    said = texts(await bot.press(HELPER, f"ven:invite:{venue.code}", language_code="en"))
    assert any("Only the venue's owner" in t for t in said)
    said = texts(await bot.press(HELPER, f"ven:unstaff:{venue.code}:{SECOND}", language_code="en"))
    assert any("Only the venue's owner" in t for t in said)
    assert await bot.repos.db["invites"].count_documents({}) == invites_before
    assert set((await bot.repos.venues.require(venue.code)).staff_ids) == {HELPER, SECOND}


async def test_unused_invites_can_be_cancelled(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    payload = await invite_link(bot, venue)
    calls = await bot.press(OWNER, f"ven:staff:{venue.code}", language_code="en")
    assert any("Unused invite links: 1" in t for t in texts(calls))
    await bot.press(OWNER, button_data(calls, "Cancel unused"), language_code="en")
    said = texts(await bot.send(HELPER, f"/start {payload}", language_code="en"))
    assert any("expired" in t for t in said)
    assert (await bot.repos.venues.require(venue.code)).staff_ids == ()


async def test_invite_repository_rules(bot: BotHarness) -> None:
    invites = bot.repos.invites
    now = bot.clock.now()
    staff = InviteKind.STAFF
    invite = await invites.create(
        "abc123abc123", staff, "K7Q2XH4M", created_by=OWNER, now=now, expires_at=now + timedelta(hours=72)
    )
    assert invite.expires_at == now + timedelta(hours=72)
    assert [i.token for i in await invites.open_for(staff, "K7Q2XH4M", now)] == ["abc123abc123"]
    spent = await invites.redeem("abc123abc123", staff, HELPER, now)
    assert spent.used_by == HELPER
    with pytest.raises(InviteUsed):
        await invites.redeem("abc123abc123", staff, SECOND, now)
    late = await invites.create(
        "def456def456", staff, "K7Q2XH4M", created_by=OWNER, now=now, expires_at=now + timedelta(hours=72)
    )
    with pytest.raises(InviteExpired):
        await invites.redeem(late.token, staff, SECOND, now + timedelta(hours=73))
    with pytest.raises(NotFound):
        await invites.redeem("nope", staff, SECOND, now)
    assert await invites.open_for(staff, "K7Q2XH4M", now + timedelta(hours=73)) == []


async def test_a_staff_invite_lasts_72_hours(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    payload = await invite_link(bot, venue)
    invite = await bot.repos.invites.get(payload.split("-")[1], InviteKind.STAFF)
    assert invite is not None and (invite.target, invite.created_by) == (venue.code, OWNER)
    assert invite.expires_at - invite.created_at == timedelta(hours=72)


async def test_forget_takes_a_staff_member_off_every_venue_and_out_of_the_invites(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    payload = await invite_link(bot, venue)
    await bot.send(HELPER, f"/start {payload}", language_code="en", first_name="Lan")
    token = payload.split("-")[1]
    assert (await bot.repos.venues.require(venue.code)).staff_ids == (HELPER,)

    await bot.send(HELPER, "/forget", language_code="en")
    await bot.press(HELPER, "v:forget:yes", language_code="en")
    assert (await bot.repos.venues.require(venue.code)).staff_ids == ()
    assert await bot.repos.venues.for_member(HELPER) == []
    invite = await bot.repos.invites.get(token, InviteKind.STAFF)
    assert invite is not None and invite.used_by is None, "the invite no longer names them"
    assert invite.used_at is not None and not invite.is_open(bot.clock.now()), "and stays spent"
    said = texts(await bot.send(SECOND, f"/start {payload}", language_code="en"))
    assert any("already used" in t for t in said)
    assert (await bot.repos.venues.require(venue.code)).staff_ids == ()


@pytest.mark.parametrize("argument", ["²", "١٢", "abc", ""])
async def test_a_removal_button_with_a_strange_person_removes_nobody(bot: BotHarness, argument: str) -> None:
    venue = await bot.repos.venues.add_staff((await make_venue(bot)).code, HELPER)
    calls = await bot.press(OWNER, f"ven:unstaff:{venue.code}:{argument}", language_code="en")
    assert any("not staff" in t for t in texts(calls))
    assert (await bot.repos.venues.require(venue.code)).staff_ids == (HELPER,)
