"""What every ``kiosk device X status`` prints: one JSON object or one line, and exit 4 when the
device is not usable (exit 4: docs/ARCHITECTURE.md, "Configuration and the command line")."""
from __future__ import annotations

import json
from typing import Any


def report_status(record: dict[str, Any], status: Any, as_json: bool) -> int:
    from devices.base import DeviceState
    from kiosk.errors import DeviceFailure

    if as_json:
        print(json.dumps(record, ensure_ascii=False))
    else:
        print(f"{status.state.value}: {status.detail_en} ({status.detail_zh})")
    if status.state not in (DeviceState.READY, DeviceState.DEGRADED):
        raise DeviceFailure(status.detail_en)
    return 0
