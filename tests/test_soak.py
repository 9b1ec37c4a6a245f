"""The soak (bench/soak.py): its checks catch each kind of leak, and a short real run passes them.

The analysis is tested on synthetic series (a flat run, then the same run with one leak each).
"""
from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import soak  # noqa: E402


def flat_run(visits: int = 3000, every: int = 100) -> list[dict]:
    """A healthy run: a warm-up climb, then noise around flat lines."""
    rows = []
    for n, visit in enumerate(range(0, visits + 1, every)):
        warm = min(visit, min(1000, visits // 3)) / min(1000, visits // 3)
        wobble = (-1) ** n
        rows.append({"visit": visit, "elapsed_s": visit * 2.0, "rss_mb": 300 + 80 * warm + 1.5 * wobble,
                     "heap_mb": 0.0, "py_blocks_k": 1400 + 50 * warm + 3 * wobble, "threads": 16, "pool_threads": min(4, n), "fds": 60 + (n % 2), "font_fds": min(64, n),
                     "textures": 380 + (n % 3), "widgets": 800 + 7 * (n % 2), "data_kb": 900 + 200 * wobble * warm,
                     "transient_kb": 400 + 200 * wobble * warm, "kept_kb": 300 + visit * 0.1, "wal_kb": 200.0,
                     "wal_max_kb": 100 + 3000 * warm, "outbox_db_kb": 40.0,
                     "outbox_wal_kb": 100.0, "outbox_files_kb": 0.0, "sessions_kb": 0.0, "printouts_kb": 0.0,
                     "log_kb": min(2048.0, visit * 2.0), "log_files": 1 + min(3, visit // 1024), "frame_ms": 40 + wobble,
                     "frame_cpu_ms": 30 + 0.3 * wobble, "frame_main_cpu_ms": 12 + 0.1 * wobble,
                     "frame_raster_cpu_ms": 18 + 0.2 * wobble, "frame_raster_ratio": 0.6 + 0.005 * wobble, "canvas_instructions": 2400 + 20 * (n % 3), "pending": 0, "platform_up": 1,
                     "animations": 3 * (n % 4 == 0), "timers": 6 + 3 * (n % 4 == 0)})   # a scroll bar's fade now and then
    rows[-1]["transient_kb"] = 400
    return rows


def verdict(rows: list[dict], **kw) -> soak.Verdict:
    kw.setdefault("visits", int(rows[-1]["visit"]))
    kw.setdefault("log_bound_kb", 2112)
    kw.setdefault("log_files_max", 4)
    kw.setdefault("log_written_kb", rows[-1]["log_kb"] * rows[-1]["log_files"])
    return soak.analyse(rows, **kw)


def with_leak(key: str, per_visit: float, rows: list[dict] | None = None) -> list[dict]:
    rows = rows or flat_run()
    return [dict(r, **{key: r[key] + per_visit * r["visit"]}) for r in rows]


def test_a_flat_run_passes():
    v = verdict(flat_run())
    assert v.ok, v.failed()
    assert abs(v.growth_per_1k["rss_mb"]) < 1.0


@pytest.mark.parametrize("key, per_visit, check", [
    ("rss_mb", 0.004, "RSS growth"),          # 4 MB per 1,000 visits: 36 MB over the rest of 10,000
    ("threads", 0.002, "threads flat"),        # one thread per 500 visits
    ("fds", 0.003, "open fds flat"),
    ("textures", 0.05, "textures flat"),       # one texture per 20 visits
    ("widgets", 0.1, "widgets flat"),          # a dialog of five widgets kept every 50 visits
    ("frame_main_cpu_ms", 0.001, "frame time"),    # the UI thread: +2 ms over 2,000 visits on 12
    ("frame_raster_ratio", 0.0001, "frame time"),  # the pixels drawn: +0.2 of the reference scene on 0.6
    ("animations", 0.065, "animations and timers flat"),   # a screen's repeating animation left every 15 visits
    ("timers", 0.1, "animations and timers flat"),         # a screen's timer left every 10 visits
    ("canvas_instructions", 0.1, "canvas instructions flat"),   # a rectangle drawn anew every 20 visits
])
def test_a_leak_of_each_kind_fails_its_check(key, per_visit, check):
    v = verdict(with_leak(key, per_visit))
    assert check in v.failed(), v.checks
    assert v.failed() == [check]


def test_a_short_run_catches_a_leak_of_capture_frames():
    rows = flat_run(visits=300, every=10)
    assert verdict(rows).ok
    assert "RSS growth" in verdict(with_leak("rss_mb", 1.0, rows)).failed()   # ~100 MB per 100 visits


def test_a_short_run_allows_samples_taken_amid_a_capture_but_not_a_steady_climb():
    rows = flat_run(visits=300, every=10)
    spiked = [dict(r, rss_mb=r["rss_mb"] + (150 if r["visit"] in (270, 290) else 0)) for r in rows]  # 8 MP frames alive
    assert verdict(spiked).ok, verdict(spiked).checks
    assert soak.robust_slope_per_1k(spiked[10:], "rss_mb") < soak.slope_per_1k(spiked[10:], "rss_mb") / 4
    climbing = with_leak("rss_mb", 0.5, rows)      # 0.5 MB a visit: 100 MB over the 200 visits after warm-up
    assert verdict(climbing).failed() == ["RSS growth"]


def test_data_left_behind_personal_data_logs_and_crashes_fail():
    rows = flat_run()
    left = [dict(r) for r in rows]
    left[-1]["transient_kb"] = 400 + 4096
    assert "data folder back to baseline" in verdict(left).failed()
    assert "data folder back to baseline" in verdict(rows, drained=False).failed()
    assert verdict(rows, personal_hits=["data/x: name"]).failed() == ["nothing personal left"]
    big_wal = [dict(r, wal_max_kb=r["visit"] * 3.0) for r in rows]
    assert verdict(big_wal).failed() == ["SQLite WAL bounded"]
    grown = [dict(r) for r in rows]
    grown[-1]["log_kb"] = 9000
    assert verdict(grown).failed() == ["logs rotated and bounded"]
    unrotated = [dict(r, log_files=1) for r in rows]
    assert verdict(unrotated, log_written_kb=9000).failed() == ["logs rotated and bounded"]
    assert verdict(rows, crashed="MemoryError").failed() == ["no crash"]
    assert verdict(rows, log_errors=["kiosk.log: job x failed (no error handler)"]).failed() == ["no unhandled exception"]
    assert verdict(rows, stuck=1).failed() == ["visits completed"]


def test_log_problems_tell_unhandled_from_handled(tmp_path):
    (tmp_path / "kiosk.log").write_text(
        "2026-12-01 10:00:00,000 ERROR kiosk.bridge: background job ProgressFlow.lookup failed\n"
        "Traceback (most recent call last):\n  ...\n"
        "2026-12-01 10:00:01,000 ERROR kiosk.bridge: background job Foo.bar failed (no error handler)\n"
        "2026-12-01 10:00:02,000 ERROR kiosk.bridge: UI callback Foo.shown failed\n", encoding="utf-8")
    found, handled = soak.log_problems(tmp_path)
    assert handled == 1 and len(found) == 2


def test_personal_data_is_found_anywhere_but_the_platform(tmp_path):
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "data" / "demo" / "backend.sqlite3").write_bytes("韦岚 450329198802140427".encode())
    (tmp_path / "data" / "x.bin").write_bytes(b"phone 13800138000")
    fed = {"name:韦岚": "韦岚", "id:450329198802140427": "450329198802140427", "phone:13800138000": "13800138000"}
    hits = soak.find_personal([tmp_path / "data"], (tmp_path / "data" / "demo" / "backend.sqlite3",), fed)
    assert hits == [f"{tmp_path / 'data' / 'x.bin'}: phone"]


def test_people_have_valid_id_numbers():
    import random

    people = soak.People(random.Random(3))
    people.card()
    number = next(v for k, v in people.fed.items() if k.startswith("id:"))
    assert len(number) == 18 and soak.id_check_digit(number[:17]) == number[17]
    assert soak.id_check_digit("45032919880214042") == "7"  # the demo card's


def test_fds_are_compared_like_with_like_when_the_run_ends_with_the_platform_up():
    rows = flat_run()
    for row in rows[-3:-1]:            # a cut just before the end: the platform down holds a few more fds
        row.update(platform_up=0, fds=row["fds"] + 6)
    v = verdict(rows)
    assert "open fds flat" not in v.failed(), v.checks
    for row in rows[-3:]:              # but more fds with the platform up at the end is a leak
        row.update(platform_up=1, fds=row["fds"] + 6 if row is rows[-1] else row["fds"])
    assert "open fds flat" in verdict(rows).failed()


def test_frame_time_is_not_failed_by_two_noisy_samples_at_the_end():
    rows = flat_run(every=25)          # a long run's many samples
    rows[-1]["frame_cpu_ms"] += 6      # the other core busy while two samples were timed
    rows[-2]["frame_cpu_ms"] += 6
    assert "frame time" not in verdict(rows).failed()


def test_frame_time_of_a_run_without_the_split_is_judged_on_all_its_cpu():
    rows = [{k: v for k, v in r.items() if k not in ("frame_main_cpu_ms", "frame_raster_cpu_ms", "frame_raster_ratio")}
            for r in with_leak("frame_cpu_ms", 0.002)]   # +6 ms over 3,000 visits on 30
    assert verdict(rows).failed() == ["frame time"]
    assert verdict(flat_run()).ok


def test_a_slower_machine_is_not_a_slower_frame():
    """The neighbours took the rasteriser's cache: the home screen and the reference scene both
    cost 40 % more to draw at the end. What the kiosk asks for did not change."""
    rows = flat_run()
    for r in rows[-10:]:
        r["frame_raster_cpu_ms"] *= 1.4
        r["frame_cpu_ms"] = r["frame_main_cpu_ms"] + r["frame_raster_cpu_ms"]
    v = verdict(rows)
    assert "frame time" not in v.failed(), v.checks
    detail = next(c.detail for c in v.checks if c.name == "frame time")
    assert "UI thread" in detail and "reference scene" in detail


def log_age(**kw) -> dict:
    age = {"by_size": 2, "by_age": 5, "pruned": 3, "oldest_s": 70.0, "rotate_s": 30.0, "keep_s": 45.0, "elapsed_s": 600.0,
           "backups": 3}
    return {**age, **kw}


@pytest.mark.parametrize("age, ok", [
    (log_age(), True),
    (log_age(by_age=0), False),                     # a long run and never a rotation by age
    (log_age(pruned=0), False),                     # rotated files outlived their keeping time, none deleted
    (log_age(oldest_s=400.0), False),               # one left far past its keeping time
    (log_age(by_age=0, pruned=0, elapsed_s=100.0), True),   # too short a run to reach them
    (log_age(by_age=18, by_size=2, pruned=0, keep_s=90.0), True),   # the backups' count deletes them first
])
def test_logs_are_kept_by_age_too(age, ok):
    v = verdict(flat_run(), log_age=age)
    assert ("logs rotated and bounded" not in v.failed()) is ok, v.checks


def test_fds_are_not_judged_on_one_sample():
    """The first sample after the warm-up caught the sender's pool nearly empty (37 fds, 40 as a
    rule, 42 at most: seen in a 10,000-visit run): the run is flat all the same."""
    rows = flat_run()
    steady = [r for r in rows if r["visit"] >= 1000]
    steady[0]["fds"] -= 4
    steady[-1]["fds"] += 2
    assert "open fds flat" not in verdict(rows).failed(), verdict(rows).checks
