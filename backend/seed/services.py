"""Demo slots and fees: what the county would plan, for the demo and the tests only.

Slots for the next :data:`DAYS` days from the seeding day, for every item a kiosk can submit and
every item with a fee: working-day window slots at the town's service centre (morning and
afternoon), an after-hours slot opened on request, a Saturday morning, and home visits to two
villages for the items elderly and disabled people ask for. Fees for the ID-card items, from the
catalogue's own wording.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from backend.appointments import add_slot
from backend.clock import CHINA_TZ, local_time
from backend.db import catalogue_items
from backend.payments import set_fee

DAYS = 7
CENTRE = "资源镇政务服务中心"
VILLAGES = ("资源镇测试新村", "车田苗族乡示例村")
HOME_VISIT_ITEMS = ("YL-001", "YL-003", "CJ-004", "CJ-005", "SB-003", "YB-006")
FEES = {"HJ-001": (2000, "工本费每证20元"), "HJ-002": (4000, "补领工本费每证40元"), "HJ-003": (1000, "工本费每证10元")}
WINDOW = ((time(9, 0), time(10, 0), 3), (time(10, 0), time(11, 0), 3), (time(15, 0), time(16, 0), 3))
AFTER_HOURS = (time(18, 30), time(19, 30), 2)
SATURDAY = (time(9, 0), time(11, 0), 2)
HOME_VISIT = (time(14, 0), time(17, 0), 1)


def seed_services(conn: sa.Connection, now: datetime) -> None:
    """Add the demo fees and slots from ``now``'s China day on."""
    items = set(conn.execute(sa.select(catalogue_items.c.id)).scalars())
    for item_id, (fen, label) in FEES.items():
        if item_id in items:
            set_fee(conn, item_id, fen, label)
    wanted = sorted(set(conn.execute(sa.select(catalogue_items.c.id)
                                     .where(catalogue_items.c.kiosk_submittable.is_(True))).scalars())
                    | (set(FEES) & items) | (set(HOME_VISIT_ITEMS) & items))
    today = local_time(now).date()
    for offset in range(1, DAYS + 1):
        day = today + timedelta(days=offset)

        def at(moment: time) -> datetime:
            return datetime.combine(day, moment, CHINA_TZ)

        for item_id in wanted:
            if day.weekday() < 5:
                for start, end, capacity in WINDOW:
                    add_slot(conn, centre=CENTRE, item_id=item_id, kind="window", starts_at=at(start),
                             ends_at=at(end), capacity=capacity)
                start, end, capacity = AFTER_HOURS
                add_slot(conn, centre=CENTRE, item_id=item_id, kind="after_hours", starts_at=at(start),
                         ends_at=at(end), capacity=capacity)
                if item_id in HOME_VISIT_ITEMS:
                    start, end, capacity = HOME_VISIT
                    for village in VILLAGES:
                        add_slot(conn, centre=CENTRE, item_id=item_id, kind="home_visit", village=village,
                                 starts_at=at(start), ends_at=at(end), capacity=capacity)
            elif day.weekday() == 5:
                start, end, capacity = SATURDAY
                add_slot(conn, centre=CENTRE, item_id=item_id, kind="window", starts_at=at(start),
                         ends_at=at(end), capacity=capacity)
