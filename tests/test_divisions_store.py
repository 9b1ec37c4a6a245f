"""The divisions kept on the kiosk (kiosk.divisions): what the picker lists offline, a broken or
missing cache never trusted, another county asked for on demand; and the county the kiosk stands in
checked in the configuration."""
from __future__ import annotations

import json

import pytest

from kiosk.config import load_config
from kiosk.divisions import DivisionStore, NotCached, level_of, prefix_chain, valid_house
from kiosk.errors import ConfigError

TREE = {
    None: [{"code": "450000000000", "name": "广西壮族自治区"}],
    "450000000000": [{"code": "450300000000", "name": "桂林市"}],
    "450300000000": [{"code": "450329000000", "name": "资源县"}, {"code": "450328000000", "name": "龙胜各族自治县"}],
    "450329000000": [{"code": "450329101000", "name": "资源镇"}],
    "450329101000": [{"code": "450329101202", "name": "和平村村民委员会"}],
    "450328000000": [{"code": "450328101000", "name": "龙脊示例镇"}],
}


class Platform:
    """The platform's answer to GET /divisions?parent=&depth=, counting the calls; down when told."""

    def __init__(self):
        self.calls, self.down = [], False

    def __call__(self, parent, depth):
        self.calls.append((parent, depth))
        if self.down:
            raise OSError("network down")
        out, level = [], [parent]
        for _ in range(depth):
            level_items = [d for p in level for d in TREE.get(p, [])]
            out += level_items
            level = [d["code"] for d in level_items]
        return out


def test_kept_for_offline_and_other_counties_asked_for(tmp_path):
    platform = Platform()
    store = DivisionStore(tmp_path / "divisions.json", platform, "450329000000")
    store.refresh()
    platform.down = True
    again = DivisionStore(tmp_path / "divisions.json", platform, "450329000000")   # after a restart, offline
    assert [d.name for d in again.children(None)] == ["广西壮族自治区"]
    assert [d.name for d in again.children("450300000000")] == ["龙胜各族自治县", "资源县"]
    assert [d.name for d in again.children("450329101000")] == ["和平村村民委员会"]
    assert [d.name for d in again.chain("450329101202")] == ["广西壮族自治区", "桂林市", "资源县", "资源镇", "和平村村民委员会"]
    with pytest.raises(NotCached):
        again.children("450328000000")            # another county's towns: not kept, platform down
    platform.down = False
    assert [d.name for d in again.children("450328000000")] == ["龙脊示例镇"]


def test_a_broken_cache_is_ignored_and_a_failed_refresh_keeps_the_old_one(tmp_path):
    path = tmp_path / "divisions.json"
    path.write_text("{not json", encoding="utf-8")
    platform = Platform()
    platform.down = True
    store = DivisionStore(path, platform, "450329000000")
    with pytest.raises(NotCached):
        store.children(None)
    platform.down = False
    store.refresh()
    kept = path.read_text(encoding="utf-8")
    platform.down = True
    with pytest.raises(OSError):
        store.refresh()
    assert path.read_text(encoding="utf-8") == kept and json.loads(kept)["home"] == "450329000000"
    path.write_text(json.dumps({"items": [{"code": "4503", "name": "x"}]}), encoding="utf-8")
    assert DivisionStore(path, platform, "450329000000").get("4503") is None


def test_codes_and_house_numbers():
    assert level_of("450329101202") == 4 and level_of("450000000000") == 0
    assert prefix_chain("450329101000") == ["450000000000", "450300000000", "450329000000", "450329101000"]
    for bad in ("45032910120", "450029000000", "abc", ""):
        with pytest.raises(ValueError):
            level_of(bad)
    assert valid_house("12号") and valid_house("3栋2单元401室") and valid_house("A栋1号")
    assert not valid_house("号12") and not valid_house("") and not valid_house("1" * 25) and not valid_house("12号<")


@pytest.mark.parametrize("code", ["450000000000", "4503290000", "450329101000", "00032900000x"])
def test_the_kiosks_county_is_checked(tmp_path, code):
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[kiosk]\ndivision_code = "{code}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="kiosk.division_code"):
        load_config(path)
