"""The naive peer: the check-in bot someone writes in an afternoon on QuetMa's stack.

`bench/checkin_throughput.py` runs it beside QuetMa against the same database server and Bot API
double, so QuetMa's check-in rate can be given as a ratio to it. It is deliberately ordinary:
python-telegram-bot with its defaults (its own httpx transport, `concurrent_updates(64)`,
`run_polling`), PyMongo's async client with its defaults, and on `/start <payload>`:

1. the payload's signature is checked with `bot.payload.verify_payload` (the same work QuetMa does);
2. the user is upserted;
3. the venue is looked up by code;
4. the visit is inserted;
5. the venue's counter for the day is upserted;
6. the venue's region's counter for the day is upserted;
7. one reply with two inline buttons confirms it.

Five database commands and one Telegram request per check-in. It has no re-scan check, no
per-person-per-day visitor count, no privacy notice, no language handling and no crash safety
between the visit and its counters. Its collections (in its own database): `users`, `venues`
(`{_id: code, name, region}`, filled by the benchmark), `visits` (one index, venue then time, as a
bot that ever shows an owner their visitors needs), `venue_days` and `region_days`.

    python bench/naive_peer.py --token T --api-url http://127.0.0.1:PORT \
        --mongo-uri mongodb://... --db peer --secret S

Every option falls back to an environment variable (BOT_TOKEN, TELEGRAM_API_URL, MONGODB_URI,
PEER_DB, QUETMA_SECRET). It long-polls until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, AsyncMongoClient
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler, ContextTypes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.payload import BadPayload, PayloadKind, verify_payload

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class PeerBot:
    """The handlers and the database of the naive peer."""

    def __init__(self, mongo_uri: str, db_name: str, secret: bytes) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
        self.db = self.client[db_name]
        self.secret = secret

    async def post_init(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await self.db.visits.create_index([("venue", ASCENDING), ("at", ASCENDING)])

    async def post_shutdown(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await self.client.close()

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        try:
            payload = verify_payload(self.secret, context.args[0] if context.args else "")
        except BadPayload:
            await message.reply_text("This QR code is not valid.")
            return
        if payload.kind is not PayloadKind.CHECKIN:
            return
        now = datetime.now(UTC)
        day = now.astimezone(TZ).strftime("%Y-%m-%d")
        await self.db.users.update_one(
            {"_id": user.id},
            {
                "$set": {"first_name": user.first_name, "language": user.language_code, "seen": now},
                "$setOnInsert": {"joined": now},
            },
            upsert=True,
        )
        venue = await self.db.venues.find_one({"_id": payload.body})
        if venue is None:
            await message.reply_text("Unknown venue.")
            return
        result = await self.db.visits.insert_one(
            {"venue": venue["_id"], "user": user.id, "at": now, "day": day, "party": 1}
        )
        await self.db.venue_days.update_one(
            {"_id": f"{venue['_id']}:{day}"}, {"$inc": {"checkins": 1}}, upsert=True
        )
        await self.db.region_days.update_one(
            {"_id": f"{venue['region']}:{day}"}, {"$inc": {"checkins": 1}}, upsert=True
        )
        visit = str(result.inserted_id)
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Check out", callback_data=f"out:{visit}"),
                    InlineKeyboardButton("+1 person", callback_data=f"plus:{visit}"),
                ]
            ]
        )
        when = now.astimezone(TZ).strftime("%H:%M %d/%m/%Y")
        await message.reply_text(f"✅ Checked in at {venue['name']} · {when}", reply_markup=buttons)


def main() -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--token", default=env("BOT_TOKEN"))
    parser.add_argument("--api-url", default=env("TELEGRAM_API_URL", "https://api.telegram.org"))
    parser.add_argument("--mongo-uri", default=env("MONGODB_URI", "mongodb://127.0.0.1:27017"))
    parser.add_argument("--db", default=env("PEER_DB", "peer"))
    parser.add_argument("--secret", default=env("QUETMA_SECRET"))
    args = parser.parse_args()
    if not args.token or not args.secret:
        parser.error("a bot token and the payload secret are required (--token, --secret)")
    logging.basicConfig(level=logging.WARNING)

    peer = PeerBot(args.mongo_uri, args.db, args.secret.encode())
    application = (
        Application.builder()
        .token(args.token)
        .base_url(f"{args.api_url.rstrip('/')}/bot")
        .concurrent_updates(64)
        .post_init(peer.post_init)
        .post_shutdown(peer.post_shutdown)
        .build()
    )
    application.add_handler(CommandHandler("start", peer.start))
    application.run_polling(allowed_updates=Update.ALL_TYPES)  # stops on SIGINT and SIGTERM


if __name__ == "__main__":
    main()
