"""The session keeps identity and captured files, and one wipe removes them all."""
from __future__ import annotations

import logging

from kiosk.session import IdleState, IdleTimer, SessionKeeper


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_idle_timer_states():
    clock = Clock()
    timer = IdleTimer(60, 20, clock)
    assert timer.state() == IdleState.ACTIVE
    clock.now = 39.9
    assert timer.state() == IdleState.ACTIVE
    clock.now = 40
    assert timer.state() == IdleState.WARNING and timer.seconds_left() == 20
    timer.touch()
    assert timer.state() == IdleState.ACTIVE
    clock.now = 100
    assert timer.state() == IdleState.EXPIRED and timer.seconds_left() == 0


def test_wipe_removes_identity_data_and_files(tmp_path, caplog):
    clock = Clock()
    keeper = SessionKeeper(tmp_path / "sessions", 60, 20, clock)
    session = keeper.start()

    class Identity:
        wiped = False
        name = "韦小宝"

        def wipe(self):
            self.wiped = True

    class Contact:
        phone = ""
        wiped = False

        def wipe(self):
            self.wiped = True

    identity = Identity()
    session.identity = identity
    contact = session.flow_state(Contact)
    contact.phone = "13800138000"
    assert session.flow_state(Contact) is contact  # one place per piece of state
    page = session.temp_dir / "page-1.jpg"
    page.write_bytes(b"secret page 450329199001010427")
    folder = session.temp_dir
    assert (folder.stat().st_mode & 0o777) == 0o700
    with caplog.at_level(logging.INFO):
        record = keeper.end("finished")
    assert record == {"session": session.id, "reason": "finished", "had_identity": True, "files_wiped": 1}
    assert identity.wiped
    assert session.identity is None and session.flows == {} and contact.wiped
    assert not folder.exists()
    assert keeper.current is None and keeper.idle_state() is None
    assert "韦小宝" not in caplog.text and "13800138000" not in caplog.text and "450329" not in caplog.text
    for path in (tmp_path / "sessions").rglob("*"):
        assert b"450329199001010427" not in path.read_bytes() if path.is_file() else True


def test_start_twice_is_the_same_session_and_touch_keeps_it():
    clock = Clock()
    keeper = SessionKeeper(__import__("pathlib").Path("/nonexistent"), 60, 20, clock)
    first = keeper.start()
    clock.now = 50
    assert keeper.idle_state() == IdleState.WARNING
    assert keeper.start() is first
    assert keeper.idle_state() == IdleState.ACTIVE


def test_leftover_session_folders_are_wiped_at_start(tmp_path):
    root = tmp_path / "sessions"
    (root / "session-abc-x").mkdir(parents=True)
    (root / "session-abc-x" / "page.jpg").write_bytes(b"left by a crash")
    keeper = SessionKeeper(root, 60, 20)
    assert keeper.purge_leftovers() == 1
    assert list(root.iterdir()) == []
