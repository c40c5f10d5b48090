"""`/newvenue`: name, address, province, ward, category, capacity; then the venue and its poster.

Each step is a conversation state; the answers so far wait in user_data (kept in MongoDB,
see storage.persistence) so a restart in the middle loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.app.context import BotContext
from bot.i18n import N_
from bot.numbers import whole_or_none
from bot.regions import Region, UnknownRegion
from bot.text import shortened
from bot.venues import CATEGORIES, InvalidInput, clean_text, parse_capacity, venue_request
from handlers.owner.posters import send_poster
from handlers.owner.registration_keyboards import (
    CB_CATEGORY,
    CB_PROVINCE,
    CB_SKIP,
    CB_WARD,
    CB_WARD_PAGE,
    MAX_WARD_PAGE,
    category_keyboard,
    province_keyboard,
    ward_page,
    ward_prompt_keyboard,
)
from handlers.owner.typed_settings import EDIT_KEY

log = logging.getLogger(__name__)

ASK_NAME = "new_venue_name"
ASK_ADDRESS = "new_venue_address"
ASK_PROVINCE = "new_venue_province"
ASK_WARD = "new_venue_ward"
ASK_CATEGORY = "new_venue_category"
ASK_CAPACITY = "new_venue_capacity"

DRAFT = "venue_draft"
Q_NAME = N_("1/6 · What is the venue's name, as written on its sign?")
Q_ADDRESS = N_("2/6 · What is its address (house number and street)?")
Q_PROVINCE = N_("3/6 · In which province or city? Press it below, or type its name.")
Q_WARD = N_("4/6 · In which ward or commune of {province}? Type part of its name, for example “{example}”.")
Q_CATEGORY = N_("5/6 · What kind of place is it?")
Q_CAPACITY = N_(
    "6/6 · How many people can be inside at once? Send a number, or press Skip. "
    "When that many are checked in, you get an alert."
)

Step = Callable[[Update, BotContext], Coroutine[Any, Any, str | int]]


def draft_of(context: BotContext) -> dict[str, Any]:
    data = context.user_data
    if data is None:
        return {}
    draft = data.get(DRAFT)
    if not isinstance(draft, dict):
        draft = {}
        data[DRAFT] = draft
    return draft


def typed(update: Update) -> str:
    """The text the user sent ("" for anything else)."""
    message = update.effective_message
    return message.text or "" if message is not None else ""


def chat_id_of(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None  # noqa: S101 - conversations are per chat
    return chat.id


async def say(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    await context.bot.send_message(chat_id_of(update), text, reply_markup=markup)


async def settle_button(update: Update, text: str) -> None:
    """Answer a pressed button and turn its message into a record of the choice."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    await query.edit_message_text(text)


async def start(update: Update, context: BotContext) -> str | int:
    """`/newvenue` (again at any time: it starts over)."""
    _ = context.gettext
    if context.user_data is not None:
        context.user_data[DRAFT] = {}
        context.user_data.pop(EDIT_KEY, None)
    await say(
        update,
        context,
        _(
            "🏪 Let's register your venue: six short questions, then you get its QR poster. /cancel stops at any time."
        )
        + "\n\n"
        + _(Q_NAME),
    )
    return ASK_NAME


async def got_name(update: Update, context: BotContext) -> str | int:
    _ = context.gettext
    try:
        name = clean_text(typed(update))
    except InvalidInput as exc:
        await say(update, context, _(str(exc)) + "\n\n" + _(Q_NAME))
        return ASK_NAME
    draft_of(context)["name"] = name
    await say(update, context, _(Q_ADDRESS))
    return ASK_ADDRESS


async def got_address(update: Update, context: BotContext) -> str | int:
    _ = context.gettext
    try:
        address = clean_text(typed(update))
    except InvalidInput as exc:
        await say(update, context, _(str(exc)) + "\n\n" + _(Q_ADDRESS))
        return ASK_ADDRESS
    draft_of(context)["address"] = address
    await say(update, context, _(Q_PROVINCE), province_keyboard(context.regions.provinces()))
    return ASK_PROVINCE


async def chose_province(update: Update, context: BotContext) -> str | int:
    query = update.callback_query
    _ = context.gettext
    regions = context.regions
    region = regions.get((query.data or "").removeprefix(CB_PROVINCE)) if query else None
    if region is None or region.kind != "province":
        if query:
            await query.answer(_("This button has expired."))
        return ASK_PROVINCE
    await settle_button(update, _("Province or city: {province}").format(province=region.name))
    return await ask_ward(update, context, region)


async def typed_province(update: Update, context: BotContext) -> str | int:
    _ = context.gettext
    regions = context.regions
    text = typed(update).strip()
    try:
        region = regions.match_province(text)
    except UnknownRegion as exc:
        if exc.suggestions:
            await say(
                update,
                context,
                _("Did you mean one of these? Press it, or type the name again."),
                province_keyboard(
                    [s for s in exc.suggestions if s.kind == "province"] or regions.provinces()
                ),
            )
        else:
            await say(
                update,
                context,
                _("No province or city is called “{text}”. Choose it below:").format(text=shortened(text)),
                province_keyboard(regions.provinces()),
            )
        return ASK_PROVINCE
    await say(update, context, _("Province or city: {province}").format(province=region.name))
    return await ask_ward(update, context, region)


async def ask_ward(update: Update, context: BotContext, province: Region) -> str | int:
    _ = context.gettext
    regions = context.regions
    draft = draft_of(context)
    draft["province"] = province.id
    draft.pop("ward", None)
    draft.pop("query", None)
    wards = regions.wards(province.id)
    example = wards[0].name if wards else ""
    await say(
        update,
        context,
        _(Q_WARD).format(province=province.name, example=example),
        ward_prompt_keyboard(_, regions, province),
    )
    return ASK_WARD


def province_of(context: BotContext) -> Region | None:
    region = context.regions.get(str(draft_of(context).get("province", "")))
    return region if region is not None and region.kind == "province" else None


async def typed_ward(update: Update, context: BotContext) -> str | int:
    _ = context.gettext
    regions = context.regions
    province = province_of(context)
    if province is None:
        return await start_over(update, context)
    try:
        text = clean_text(typed(update))
    except InvalidInput as exc:
        await say(update, context, _(str(exc)))
        return ASK_WARD
    matches = regions.search_wards(province.id, text, limit=2)
    if len(matches) == 1:
        # One ward matches what was typed: nothing to choose, so no button to tap.
        draft_of(context)["ward"] = matches[0].id
        chosen = _("Ward or commune: {ward}").format(ward=regions.label(matches[0].id))
        await say(update, context, chosen + "\n\n" + _(Q_CATEGORY), category_keyboard(_))
        return ASK_CATEGORY
    if not matches:
        await say(
            update,
            context,
            _("No ward or commune of {province} matches “{query}”. Type another part of the name:").format(
                province=province.name, query=text
            ),
            ward_prompt_keyboard(_, regions, province),
        )
        return ASK_WARD
    draft_of(context)["query"] = text
    page_text, markup = ward_page(_, regions, province, text, 0)
    await say(update, context, page_text, markup)
    return ASK_WARD


async def turned_ward_page(update: Update, context: BotContext) -> str | int:
    query = update.callback_query
    _ = context.gettext
    province = province_of(context)
    if query is None or province is None:
        return await start_over(update, context)
    raw = (query.data or "").removeprefix(CB_WARD_PAGE)
    await query.answer()
    searched = draft_of(context).get("query")
    text, markup = ward_page(
        _,
        context.regions,
        province,
        searched if isinstance(searched, str) else None,
        whole_or_none(raw, low=0, high=MAX_WARD_PAGE) or 0,
    )
    await query.edit_message_text(text, reply_markup=markup)
    return ASK_WARD


async def browse_wards(update: Update, context: BotContext) -> str | int:
    query = update.callback_query
    _ = context.gettext
    province = province_of(context)
    if query is None or province is None:
        return await start_over(update, context)
    draft_of(context).pop("query", None)
    await query.answer()
    text, markup = ward_page(_, context.regions, province, None, 0)
    await query.edit_message_text(text, reply_markup=markup)
    return ASK_WARD


async def change_province(update: Update, context: BotContext) -> str | int:
    _ = context.gettext
    if update.callback_query:
        await update.callback_query.answer()
    await say(update, context, _(Q_PROVINCE), province_keyboard(context.regions.provinces()))
    return ASK_PROVINCE


async def chose_ward(update: Update, context: BotContext) -> str | int:
    query = update.callback_query
    _ = context.gettext
    regions = context.regions
    province = province_of(context)
    if query is None or province is None:
        return await start_over(update, context)
    ward = regions.get((query.data or "").removeprefix(CB_WARD))
    if ward is None or ward.kind != "ward" or ward.parent_id != province.id:
        await query.answer(_("This button has expired."))
        return ASK_WARD
    draft_of(context)["ward"] = ward.id
    await settle_button(update, _("Ward or commune: {ward}").format(ward=regions.label(ward.id)))
    await say(update, context, _(Q_CATEGORY), category_keyboard(_))
    return ASK_CATEGORY


async def chose_category(update: Update, context: BotContext) -> str | int:
    query = update.callback_query
    _ = context.gettext
    key = (query.data or "").removeprefix(CB_CATEGORY) if query else ""
    if query is None or key not in CATEGORIES:
        if query:
            await query.answer(_("This button has expired."))
        return ASK_CATEGORY
    draft_of(context)["category"] = key
    await settle_button(update, _("Category: {category}").format(category=_(CATEGORIES[key])))
    await ask_capacity(update, context)
    return ASK_CAPACITY


async def ask_capacity(update: Update, context: BotContext) -> None:
    _ = context.gettext
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(_("Skip"), callback_data=CB_SKIP)]])
    await say(update, context, _(Q_CAPACITY), markup)


async def got_capacity(update: Update, context: BotContext) -> str | int:
    _ = context.gettext
    try:
        capacity = parse_capacity(typed(update).strip())
    except InvalidInput as exc:
        await say(
            update,
            context,
            _(str(exc)) + "\n\n" + _(Q_CAPACITY),
            InlineKeyboardMarkup([[InlineKeyboardButton(_("Skip"), callback_data=CB_SKIP)]]),
        )
        return ASK_CAPACITY
    if capacity is None:
        await say(update, context, _("Please send a whole number of people, for example 40."))
        return ASK_CAPACITY
    return await finish(update, context, capacity)


async def skipped_capacity(update: Update, context: BotContext) -> str | int:
    _ = context.gettext
    await settle_button(update, _("Capacity: not set"))
    return await finish(update, context, None)


async def finish(update: Update, context: BotContext, capacity: int | None) -> str | int:
    """Register the venue with this user as owner, then send the link and the poster."""
    _ = context.gettext
    user = update.effective_user
    draft = draft_of(context)
    ward = context.regions.get(str(draft.get("ward", "")))
    if user is None or ward is None or not {"name", "address", "category"} <= draft.keys():
        return await start_over(update, context)
    try:
        request = venue_request(
            name=draft["name"],
            address=draft["address"],
            region=ward,
            category=draft["category"],
            capacity=capacity,
            owner_id=user.id,
        )
    except InvalidInput:
        return await start_over(update, context)
    venue = await context.venues.register(request)
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    log.info("venue %s registered in the chat", venue.code)
    await say(
        update,
        context,
        "\n".join(
            [
                _("✅ {venue} is registered.").format(venue=venue.name),
                _("Venue code: {code}").format(code=venue.code),
                _("Check-in link: {link}").format(link=context.links.checkin(venue.code)),
                "",
                _(
                    "Print the A4 poster below and put it at the entrance, at eye level. "
                    "/myvenues: poster, settings and staff. /today: today's check-ins."
                ),
            ]
        ),
    )
    await send_poster(context, chat_id_of(update), venue)
    return ConversationHandler.END


async def start_over(update: Update, context: BotContext) -> int:
    """The saved answers are gone (they lapse after a day): say so and end."""
    _ = context.gettext
    if update.callback_query:
        await update.callback_query.answer()
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    await say(update, context, _("This registration has expired. Send /newvenue to start again."))
    return ConversationHandler.END


def reask(state: str) -> Step:
    """A step's answer to something that is not what it asked for (a sticker, a photo, text for buttons)."""

    async def again(update: Update, context: BotContext) -> str | int:
        _ = context.gettext
        regions = context.regions
        if state == ASK_PROVINCE:
            await say(update, context, _(Q_PROVINCE), province_keyboard(regions.provinces()))
        elif state == ASK_WARD and (province := province_of(context)) is not None:
            await say(
                update,
                context,
                _(Q_WARD).format(province=province.name, example=regions.wards(province.id)[0].name),
                ward_prompt_keyboard(_, regions, province),
            )
        elif state == ASK_CATEGORY:
            await say(
                update,
                context,
                _("Please choose with the buttons.") + "\n\n" + _(Q_CATEGORY),
                category_keyboard(_),
            )
        elif state == ASK_CAPACITY:
            await ask_capacity(update, context)
        else:
            question = {ASK_NAME: Q_NAME, ASK_ADDRESS: Q_ADDRESS}.get(state, Q_NAME)
            await say(update, context, _("Please answer with text.") + "\n\n" + _(question))
        return state

    return again


async def cancel(update: Update, context: BotContext) -> int:
    """`/cancel` during any step."""
    _ = context.gettext
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
        context.user_data.pop(EDIT_KEY, None)
    await say(update, context, _("Cancelled. Nothing was saved."))
    return ConversationHandler.END


async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    """`/cancel` outside any conversation."""
    _ = context.gettext
    if update.effective_message:
        await update.effective_message.reply_text(_("There is nothing to cancel."))
