"""`/dashboard` in the chat: a one-time sign-in link for officials and admins, nothing for anyone else."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.signins import secret_key
from storage.database import Repos
from tests.botapi import BotApiDouble
from tests.dashboard_support import make_official
from tests.harness import BotHarness
from tests.test_official_bot import chat_menu
from tests.test_official_report import HANOI

LINK = re.compile(r"(https?://\S+)/dashboard/signin/(\S+)")


async def test_an_official_gets_a_one_time_link_under_the_public_url(bot: BotHarness) -> None:
    await make_official(bot.repos, 6002, HANOI.id, bot.clock.now())
    calls = await bot.send(6002, "/dashboard")
    reply = [call for call in calls if call.method == "sendMessage"][-1]
    found = LINK.search(reply.text or "")
    assert found is not None and found.group(1) == "http://0.0.0.0:8080"  # QUETMA_PUBLIC_URL unset: HOST:PORT
    assert "10 phút" in (reply.text or "")
    assert reply.params["link_preview_options"] == {"is_disabled": True}
    assert "reply_markup" not in reply.params  # a Mini App button needs https
    stored = await bot.repos.db["dashboard_links"].find_one({"_id": secret_key(found.group(2))})
    assert stored is not None and stored["user_id"] == 6002
    assert stored["expires_at"] - stored["created_at"] == timedelta(minutes=10)


async def test_an_admin_gets_a_mini_app_button_when_the_pages_are_on_https(
    settings: Settings, repos: Repos, botapi: BotApiDouble, clock: ManualClock
) -> None:
    https = settings.model_copy(update={"public_url": "https://quetma.example"})
    bot = await BotHarness.start(https, repos, botapi, clock)
    try:
        calls = await bot.send(900001, "/dashboard", language_code="en")
    finally:
        await bot.stop()
    reply = [call for call in calls if call.method == "sendMessage"][-1]
    assert "https://quetma.example/dashboard/signin/" in (reply.text or "")
    button = reply.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["web_app"] == {"url": "https://quetma.example/dashboard/app"}


async def test_citizens_get_no_link(bot: BotHarness) -> None:
    calls = await bot.send(5001, "/dashboard")
    reply = [call for call in calls if call.method == "sendMessage"][-1]
    assert "/dashboard/signin/" not in (reply.text or "")
    assert await bot.repos.db["dashboard_links"].count_documents({}) == 0


async def test_admins_find_it_in_their_menu(bot: BotHarness) -> None:
    assert (await chat_menu(bot, 900001, "en"))["dashboard"] == "Figures and lists in a browser"
    assert (await chat_menu(bot, 900001))["dashboard"] == "Số liệu và danh sách trên trình duyệt"
