"""The buttons of `/newvenue`: provinces, pages of wards, categories, and their callback data."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Gettext
from bot.regions import Region, RegionCatalogue
from bot.venues import CATEGORIES

PREFIX = "nv:"
CB_PROVINCE = "nv:prov:"
CB_WARD = "nv:ward:"
CB_WARD_PAGE = "nv:wpage:"
CB_BROWSE = "nv:wall"
CB_CHANGE_PROVINCE = "nv:reprov"
CB_CATEGORY = "nv:cat:"
CB_SKIP = "nv:skip"

PROVINCES_PER_ROW = 3
WARDS_PER_PAGE = 10
WARDS_PER_ROW = 2
MAX_WARD_PAGE = 1000  # pages are clamped to the last one; this only bounds what a button may say


def short_name(region: Region) -> str:
    return region.name.removeprefix("Thành phố ")


def province_keyboard(provinces: list[Region]) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(short_name(p), callback_data=f"{CB_PROVINCE}{p.id}") for p in provinces]
    return InlineKeyboardMarkup(
        [buttons[i : i + PROVINCES_PER_ROW] for i in range(0, len(buttons), PROVINCES_PER_ROW)]
    )


def ward_prompt_keyboard(_: Gettext, regions: RegionCatalogue, province: Region) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("📋 All {n} wards and communes").format(n=len(regions.wards(province.id))),
                    callback_data=CB_BROWSE,
                )
            ],
            [InlineKeyboardButton(_("↩ Another province"), callback_data=CB_CHANGE_PROVINCE)],
        ]
    )


def ward_page(
    _: Gettext, regions: RegionCatalogue, province: Region, query: str | None, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of wards (all of them, or those matching the typed text) as buttons."""
    wards = regions.wards(province.id)
    if query:
        wards = regions.search_wards(province.id, query, limit=len(wards))
    pages = max(1, (len(wards) + WARDS_PER_PAGE - 1) // WARDS_PER_PAGE)
    page = max(0, min(page, pages - 1))
    shown = wards[page * WARDS_PER_PAGE : (page + 1) * WARDS_PER_PAGE]
    buttons = [InlineKeyboardButton(ward.name, callback_data=f"{CB_WARD}{ward.id}") for ward in shown]
    rows = [buttons[i : i + WARDS_PER_ROW] for i in range(0, len(buttons), WARDS_PER_ROW)]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀", callback_data=f"{CB_WARD_PAGE}{page - 1}"))
    if page < pages - 1:
        nav.append(InlineKeyboardButton("▶", callback_data=f"{CB_WARD_PAGE}{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append([InlineKeyboardButton(_("↩ Another province"), callback_data=CB_CHANGE_PROVINCE)])
    if query:
        text = _.ngettext(
            "{n} ward or commune of {province} matches “{query}”. Choose it, or type again:",
            "{n} wards and communes of {province} match “{query}”. Choose one, or type again:",
            len(wards),
        ).format(n=len(wards), province=province.name, query=query)
    else:
        text = _("Wards and communes of {province}. Choose one, or type part of a name:").format(
            province=province.name
        )
    if pages > 1:
        text += "\n" + _("page {page} of {pages}").format(page=page + 1, pages=pages)
    return text, InlineKeyboardMarkup(rows)


def category_keyboard(_: Gettext) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(_(label), callback_data=f"{CB_CATEGORY}{key}")
        for key, label in CATEGORIES.items()
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])
