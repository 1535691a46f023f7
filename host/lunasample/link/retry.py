"""How long to wait for a reply, and how often to resend."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for one command.

    ack_timeout_s is real time: the board answers within a loop tick or two,
    whatever its speed factor. Long operations are timed in board time
    (see Link.run), so a faster-than-real-time emulator never trips them.
    """

    ack_timeout_s: float = 0.4
    retries: int = 8
    backoff: float = 1.5
    max_timeout_s: float = 3.0

    def timeouts(self) -> list[float]:
        """The wait before each attempt's resend, first attempt included."""
        out, t = [], self.ack_timeout_s
        for _ in range(self.retries + 1):
            out.append(t)
            t = min(t * self.backoff, self.max_timeout_s)
        return out
