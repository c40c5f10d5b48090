"""The optional health declaration (khai báo y tế) asked after a check-in."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler

from bot.app.context import BotContext
from bot.checkins import Declaration
from bot.i18n import N_, Gettext
from handlers.common import tell_outcome
from storage.models import HealthAnswers, Visit

CB_HEALTH = "h:"
QUESTIONS = (
    N_("1/3 · Today, do you have a fever, a cough or shortness of breath?"),
    N_("2/3 · In the last 14 days, were you in close contact with a confirmed case?"),
    N_("3/3 · In the last 14 days, did you travel from an area under restrictions?"),
)


def question_markup(_: Gettext, visit_id: str, answered: str) -> InlineKeyboardMarkup:
    base = f"{CB_HEALTH}{visit_id}:{answered}"
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("Yes"), callback_data=f"{base}y"),
                InlineKeyboardButton(_("No"), callback_data=f"{base}n"),
            ],
            [InlineKeyboardButton(_("Skip the declaration"), callback_data=f"{CB_HEALTH}{visit_id}:s")],
        ]
    )


def question_text(_: Gettext, index: int) -> str:
    return _("🩺 Health declaration (optional)") + "\n" + _(QUESTIONS[index])


async def ask(message: Message, context: BotContext, visit: Visit) -> None:
    """Send the first question for a new visit."""
    _ = context.gettext
    await message.reply_text(question_text(_, 0), reply_markup=question_markup(_, visit.id, ""))


def parse(data: str) -> tuple[str, str] | None:
    """(visit id, answers) from callback data, or None when it is not ours or malformed."""
    body = data.removeprefix(CB_HEALTH)
    visit_id, sep, answers = body.partition(":")
    if not sep or len(visit_id) != 24 or len(answers) > 3:
        return None
    if answers != "s" and set(answers) - {"y", "n"}:
        return None
    return visit_id, answers


async def answered(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or query.data is None or user is None:
        return
    _ = context.gettext
    parsed = parse(query.data)
    if parsed is None:
        await query.answer(_("This button has expired."))
        return
    visit_id, answers = parsed
    if answers != "s" and len(answers) < len(QUESTIONS):
        await query.answer()
        await query.edit_message_text(
            question_text(_, len(answers)), reply_markup=question_markup(_, visit_id, answers)
        )
        return
    declared = None if answers == "s" else HealthAnswers(*(a == "y" for a in answers))
    outcome = await context.checkins.declare_health(user.id, visit_id, declared)
    if outcome is Declaration.REFUSED:
        await query.answer(_("This button has expired."))
        return
    if outcome is Declaration.ALREADY_RECORDED:
        text = _("This declaration was already recorded.")
    elif declared is None:
        text = _("Declaration skipped. Have a good visit!")
    elif declared.any_yes:
        text = _(
            "Thank you. Because you answered yes, please contact your local health station "
            "for advice, wear a mask and keep your distance from others."
        )
    else:
        text = _("Thank you, your declaration was recorded. Have a good visit!")
    await tell_outcome(query, context, text)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CallbackQueryHandler(answered, pattern=f"^{CB_HEALTH}"))
