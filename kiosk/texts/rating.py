"""好差评 offered at the end of a task: one tap from what was just done."""
from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "rate_offer": ("为这次服务评价", "Rate this service"),
    "rate_offer_hint": ("评价只需两步，也可以不评价", "Two taps, and you may skip it"),
}
