"""A person's right to be forgotten: their visits, profile and pending messages go; anonymous counts stay."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.profiles import phone_number
from storage.checkins import CheckinRepo
from storage.invites import InviteRepo
from storage.outbox import OutboxRepo
from storage.users import UserRepo
from storage.venues import VenueRepo


@dataclass(frozen=True)
class Privacy:
    """Forget a person on request (`/forget`)."""

    visits: CheckinRepo
    users: UserRepo
    outbox: OutboxRepo
    venues: VenueRepo
    invites: InviteRepo
    clock: Clock

    async def share_phone(self, user_id: int, phone: str) -> bool:
        """Keep the phone number a person shared, as text, so health workers can call them if exposed.

        False, and nothing stored, for what is not a phone number.
        """
        number = phone_number(phone)
        if number is None:
            return False
        await self.users.set_phone(user_id, number)
        return True

    async def forget_person(self, user_id: int) -> int:
        """Delete a person's check-ins and profile and cancel messages to them; the check-ins deleted."""
        deleted = await self.visits.forget_user(user_id)
        await self.users.delete(user_id)
        # Memberships go too: the venues they were staff of, the invites they opened (still spent).
        await self.venues.forget_staff(user_id)
        await self.invites.forget_user(user_id)
        # Claimed messages included: the sender checks its claim just before sending, and no text
        # of a message to this person stays in the outbox.
        await self.outbox.cancel_for(user_id, self.clock.now())
        return deleted
