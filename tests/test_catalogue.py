"""The service guide on the kiosk side: validation, pinyin search, and the ETag-refreshed disk cache."""
from __future__ import annotations

import copy
import json

import pytest

from kiosk.catalogue import CatalogueError, CatalogueStore, SearchIndex, parse_catalogue
from kiosk.platform_client import CatalogueAnswer, PlatformError


def item(id_, name, category="社会保障", level="town", **extra):
    base = {
        "id": id_, "name": name, "department": "镇社会保障服务中心", "level": level, "category": category,
        "conditions": "本镇户籍居民", "materials": [
            {"name": "居民身份证", "kind": "original", "count": 1, "required": True, "note": ""}],
        "steps": ["申请", "受理", "办结"], "time_limit_days": 0, "fees": "不收费", "fee_basis": "无",
        "legal_basis": "《中华人民共和国社会保险法》", "phone": "0771-1234567", "supervision_phone": "0771-7654321",
        "kiosk_submittable": False}
    base.update(extra)
    return base


DOC = {"version": "t1", "items": [
    item("A", "城乡居民基本养老保险参保登记"),
    item("B", "最低生活保障申请", category="社会救助", level="village"),
    item("C", "残疾人证新办", category="残疾人服务"),
    item("D", "基本医疗保险参保登记", category="医疗保障"),
    item("E", "农村宅基地和建房（规划许可）申请", category="自然资源", level="village"),
]}


@pytest.fixture(scope="module")
def index():
    return SearchIndex(parse_catalogue(DOC)[1])


def names(results):
    return [i.id for i in results]


def test_chinese_search_and_filters(index):
    assert names(index.search("养老")) == ["A"]
    assert names(index.search("低保")) == ["B"]          # everyday word for 最低生活保障
    assert names(index.search("")) == ["A", "B", "C", "D", "E"]
    assert names(index.search("", level="village")) == ["B", "E"]
    assert names(index.search("", category="残疾人服务")) == ["C"]
    assert index.search("火箭") == []


def test_pinyin_initials_and_full(index):
    assert "A" in names(index.search("shbx"))   # 社会保险 via 养老保险
    assert "A" in names(index.search("shebao"))  # 社保
    assert names(index.search("yb"))[0] == "D" or "D" in names(index.search("yibao"))
    assert names(index.search("cjrz")) == ["C"]   # 残疾人证 initials, prefix of the name
    assert names(index.search("zhaijidi")) == ["E"]
    assert names(index.search("SHE BAO")) == names(index.search("shebao"))


def test_name_prefix_ranks_first(index):
    results = names(index.search("c"))
    assert results[0] in ("A", "C")  # names starting with c come before mere containment


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["items"][0].pop("fees"), "missing field 'fees'"),
    (lambda d: d["items"][0].update(level="province"), "level 'province'"),
    (lambda d: d["items"][0]["materials"][0].update(kind="scan"), "kind 'scan'"),
    (lambda d: d["items"][0]["materials"][0].update(count=0), "count must be at least 1"),
    (lambda d: d["items"][0].update(time_limit_days=True), "time_limit_days"),
    (lambda d: d["items"][1].update(id="A"), "duplicate item ids"),
    (lambda d: d.pop("items"), "'items' list"),
])
def test_bad_catalogue_is_refused_with_a_reason(mutate, message):
    doc = copy.deepcopy(DOC)
    mutate(doc)
    with pytest.raises(CatalogueError, match=message.replace("(", r"\(")):
        parse_catalogue(doc)


class FakePlatform:
    def __init__(self):
        self.calls = []
        self.online = True
        self.doc = DOC
        self.etag = '"v1"'

    def __call__(self, etag):
        self.calls.append(etag)
        if not self.online:
            raise PlatformError("platform unreachable: ConnectionError")
        if etag == self.etag:
            return CatalogueAnswer(True, etag, None)
        return CatalogueAnswer(False, self.etag, self.doc)


def test_cache_refresh_304_and_offline(tmp_path):
    platform = FakePlatform()
    now = [1000.0]
    store = CatalogueStore(tmp_path / "cache" / "catalogue.json", platform, clock=lambda: now[0])
    first = store.refresh()
    assert not first.from_cache and len(first.items) == 5 and platform.calls == [None]
    now[0] = 2000.0
    second = store.refresh()
    assert platform.calls == [None, '"v1"'] and second.fetched_at == 2000.0 and len(second.items) == 5
    platform.online = False
    now[0] = 3000.0
    offline = store.refresh()
    assert offline.from_cache and offline.fetched_at == 2000.0 and len(offline.items) == 5


def test_offline_without_cache_raises_and_bad_cache_is_ignored(tmp_path):
    platform = FakePlatform()
    platform.online = False
    path = tmp_path / "catalogue.json"
    store = CatalogueStore(path, platform)
    with pytest.raises(PlatformError):
        store.refresh()
    path.write_text("{not json", encoding="utf-8")
    assert store.load_cached() is None
    platform.online = True
    assert len(store.refresh().items) == 5
    assert json.loads(path.read_text(encoding="utf-8"))["etag"] == '"v1"'


def test_a_broken_answer_keeps_the_old_cache(tmp_path):
    platform = FakePlatform()
    store = CatalogueStore(tmp_path / "catalogue.json", platform)
    store.refresh()
    before = (tmp_path / "catalogue.json").read_bytes()
    platform.doc, platform.etag = {"items": [{"id": "X"}]}, '"v2"'
    with pytest.raises(CatalogueError):
        store.refresh()
    assert (tmp_path / "catalogue.json").read_bytes() == before
