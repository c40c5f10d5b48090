"""The delivery engine: drains the outbox into Telegram, paced, and safe to kill at any moment.

- `pacing`: how fast (`DeliveryConfig`, `Pacer`);
- `errors`: what a failed send means (`classify`);
- `settlements`: outcomes stored in batches;
- `claiming`, `queue`, `sender`: the claim and send loop (`Sender`);
- `claim_check`: the last look before a send (a message cancelled by /forget never goes);
- `stats`: what a sender did, mirrored into the metrics;
- `transport`: the sender's own Bot and the Bot API call;
- `drain`: a one-off run until nothing is due (`drain_outbox`).
"""

from bot.app.delivery.drain import drain_outbox
from bot.app.delivery.pacing import DeliveryConfig, Pacer
from bot.app.delivery.sender import Sender
from bot.app.delivery.stats import SenderStats
from bot.app.delivery.transport import build_sender_bot

__all__ = ["DeliveryConfig", "Pacer", "Sender", "SenderStats", "build_sender_bot", "drain_outbox"]
