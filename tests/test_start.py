"""`/start`: one handler verifies every deep link once and sends it where its kind says."""

from __future__ import annotations

import pytest
from telegram.ext import CommandHandler

from bot.officials import Actor
from bot.payload import PayloadKind, sign_payload
from storage.invites import InviteKind
from tests.harness import BotHarness, texts
from tests.test_owner_staff import OWNER, make_venue

PERSON = 6302
BAD_QR = "This QR code is not valid. Please scan the poster again, or type the venue code: /checkin CODE"


def test_one_handler_answers_start(bot: BotHarness) -> None:
    starts = [
        handler
        for group in bot.app.handlers.values()
        for handler in group
        if isinstance(handler, CommandHandler) and "start" in handler.commands
    ]
    assert len(starts) == 1


async def test_plain_start_welcomes(bot: BotHarness) -> None:
    said = texts(await bot.send(PERSON, "/start", language_code="en"))
    assert said[0].startswith("🔒 QuetMa keeps your check-ins"), "the first contact hears the privacy notice"
    assert said[1:] == [
        "Welcome to QuetMa! Scan the QR poster at a venue to check in.\n\n/help shows what I can do."
    ]


@pytest.mark.parametrize(
    ("payload", "answer"),
    [
        ("c-K7Q2XH4M-AAAAAAAAAAAAAAAA", BAD_QR),
        ("x-K7Q2XH4M-AAAAAAAAAAAAAAAA", BAD_QR),
        ("hello", BAD_QR),
        (
            "s-0123456789abcdef-AAAAAAAAAAAAAAAA",
            "This invite link is not valid. Ask the venue's owner for a new one.",
        ),
        ("o-0123456789abcdef-AAAAAAAAAAAAAAAA", "This invite link is not valid."),
    ],
)
async def test_a_bad_payload_is_refused_in_the_words_of_its_link(
    bot: BotHarness, payload: str, answer: str
) -> None:
    await bot.send(PERSON, "/help", language_code="en")  # past the first-contact notice
    said = texts(await bot.send(PERSON, f"/start {payload}", language_code="en"))
    assert said == [answer]


async def test_a_staff_token_signed_as_an_official_invite_makes_nobody_an_official(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    invite = await bot.container.create_invite(InviteKind.STAFF, venue.code, Actor(OWNER, "Chủ"))
    payload = sign_payload(bot.container.signer.secret, PayloadKind.OFFICIAL_INVITE, invite.token)
    said = texts(await bot.send(PERSON, f"/start {payload}", language_code="en"))
    assert any("This invite link is not valid." in t for t in said)
    assert await bot.repos.officials.get(PERSON) is None
    stored = await bot.repos.invites.get(invite.token, InviteKind.STAFF)
    assert stored is not None and stored.is_open(bot.clock.now()), "the staff invite is not spent"


async def test_a_poster_scan_checks_in(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    said = texts(await bot.send(PERSON, f"/start {bot.link_payload(venue.code)}", language_code="en"))
    assert any("Checked in at Quán cà phê Giảng" in t for t in said)
