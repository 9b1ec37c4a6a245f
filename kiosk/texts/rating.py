"""Shorter tasks: 好差评 offered at the end of a task, one tap from what was just done; 下一份 from
one material's capture straight to the next, and on to the contact step after the last."""
from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "rate_offer": ("为这次服务评价", "Rate this service"),
    "capture_next": ("下一份：{name}", "Next: {name}"),
    "capture_to_contact": ("拍好了，下一步", "All taken: next step"),
}
