"""What a failed send means: Telegram's errors sorted into wait, give up on the recipient, fail or retry."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning


class Verdict(Enum):
    """What the sender does with a message whose send failed."""

    FLOOD = "flood"  # a 429: pause everything and send this one again after the pause
    UNREACHABLE = "unreachable"  # the recipient is gone: drop whatever else waits for them
    FAILED = "failed"  # this message can never go
    RETRY = "retry"  # a passing fault: try again later, up to `max_attempts`


@dataclass(frozen=True)
class SendFailure:
    """One failed send, classified."""

    verdict: Verdict
    reason: str  # a short label for metrics and `quetma outbox status`
    error: str = ""
    retry_after: float = 0.0  # seconds, for FLOOD


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB is moving this attribute from int to timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def forbidden_reason(exc: TelegramError) -> str:
    """A short reason for a recipient that cannot be reached."""
    text = exc.message.lower()
    if "deactivated" in text:
        return "deactivated"
    if "chat not found" in text:
        return "chat-not-found"
    if "blocked" in text:
        return "blocked"
    return "forbidden"


def network_reason(exc: NetworkError) -> str:
    """Timeouts, Telegram's own 5xx answers (no underlying cause) and connection failures."""
    if isinstance(exc, TimedOut):
        return "timeout"
    return "network" if exc.__cause__ is not None else "server-error"


def classify(exc: Exception) -> SendFailure:
    """The verdict on a send that raised `exc` (the order matters: PTB's errors subclass each other)."""
    if isinstance(exc, RetryAfter):
        return SendFailure(Verdict.FLOOD, "flood", str(exc), retry_after=retry_after_seconds(exc))
    if isinstance(exc, Forbidden):
        return SendFailure(Verdict.UNREACHABLE, forbidden_reason(exc), exc.message)
    if isinstance(exc, BadRequest):
        if "chat not found" in exc.message.lower():
            return SendFailure(Verdict.UNREACHABLE, "chat-not-found", exc.message)
        return SendFailure(Verdict.FAILED, "bad-request", str(exc))
    if isinstance(exc, ChatMigrated):
        return SendFailure(Verdict.FAILED, "chat-migrated", str(exc))
    if isinstance(exc, NetworkError):
        return SendFailure(Verdict.RETRY, network_reason(exc), str(exc))
    if isinstance(exc, InvalidToken):
        return SendFailure(Verdict.RETRY, "invalid-token", str(exc))
    if isinstance(exc, TelegramError):
        return SendFailure(Verdict.RETRY, "telegram-error", str(exc))
    return SendFailure(Verdict.RETRY, "error", str(exc))
