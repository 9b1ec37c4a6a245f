"""Card text parsing for the four card types, built byte by byte from the offsets of the card layouts.

The blocks here are written by hand from the documented offsets, not with the module's own layout
table, so a wrong offset in the code shows up as a failure.
"""
import datetime as dt
import json

import pytest

from devices.idcard.card import (FOREIGN_2017, FOREIGN_2023, HKMT_PERMIT, RESIDENT, CardFormatError,
                                 IdCard, parse_card)
from devices.idcard.codes import NATIONS, SEX, check_digit, id_number_valid
from devices.idcard.fixtures import FIXTURE_DIR, FixtureError, card_from_document, fixture_names, load_card
from kiosk.masking import mask_address, mask_id_number, mask_name

TODAY = dt.date(2026, 6, 1)
PHOTO = b"\x57\x4C\x66\x00\x7E\x00\x32\x00" + bytes(1016)


def block(type_letter=" ", **at):
    """256 bytes of UTF-16LE spaces with text put at byte offsets: block(J=..., _122="...")."""
    data = bytearray(" ".encode("utf-16-le") * 128)
    for key, text in at.items():
        offset = int(key.lstrip("_"))
        encoded = text.encode("utf-16-le")
        data[offset:offset + len(encoded)] = encoded
    data[248:250] = type_letter.encode("utf-16-le")
    return bytes(data)


def resident_block(valid_to="20380301", nation="08"):
    return block(" ", _0="韦岚", _30="2", _32=nation, _36="19880214", _52="广西壮族自治区桂林市资源县资源镇示例路1号",
                 _122="450329198802140427", _158="资源县公安局", _188="20180301", _204=valid_to)


def test_resident_card():
    card = parse_card(resident_block(), PHOTO, TODAY)
    assert card == IdCard(
        card_type=RESIDENT, name="韦岚", sex="女", nation="壮", birth_date="1988-02-14",
        address="广西壮族自治区桂林市资源县资源镇示例路1号", id_number="450329198802140427", issuer="资源县公安局",
        valid_from="2018-03-01", valid_to="2038-03-01", expired=False, id_number_valid=True, photo=PHOTO)
    assert card.photo_bytes == 1024


def test_long_term_card_never_expires():
    card = parse_card(resident_block(valid_to="长期"), b"", dt.date(2099, 1, 1))
    assert card.valid_to == "长期" and card.expired is False


def test_expiry_against_the_injected_today():
    block_ = resident_block(valid_to="20260531")
    assert parse_card(block_, b"", dt.date(2026, 5, 31)).expired is False  # valid through its last day
    assert parse_card(block_, b"", dt.date(2026, 6, 1)).expired is True


def test_hkmt_permit():
    text = block("J", _0="陈嘉欣", _30="2", _36="19850316", _52="广东省深圳市南山区示例路88号",
                 _122="810000198503160522", _158="深圳市公安局", _188="20230601", _204="20280601",
                 _220="H60123456", _238="02")
    card = parse_card(text, PHOTO, TODAY)
    assert card.card_type == HKMT_PERMIT
    assert (card.name, card.sex, card.nation, card.birth_date) == ("陈嘉欣", "女", None, "1985-03-16")
    assert (card.id_number, card.id_number_valid) == ("810000198503160522", True)
    assert (card.pass_number, card.issue_count) == ("H60123456", 2)
    assert (card.valid_from, card.valid_to, card.issuer) == ("2023-06-01", "2028-06-01", "深圳市公安局")
    assert card.name_en is None and card.nationality is None


def test_foreign_permanent_2017():
    text = block("I", _0="TESTER, JOHN SAMPLE", _120="1", _122="USA310801010015", _152="USA", _158="史约翰",
                 _188="20170815", _204="20270815", _220="19800101", _236="01", _240="1500")
    card = parse_card(text, PHOTO, TODAY)
    assert card.card_type == FOREIGN_2017
    assert (card.name_en, card.name, card.sex, card.nationality) == ("TESTER, JOHN SAMPLE", "史约翰", "男", "USA")
    assert (card.id_number, card.id_number_valid) == ("USA310801010015", None)
    assert (card.birth_date, card.valid_from, card.valid_to) == ("1980-01-01", "2017-08-15", "2027-08-15")
    assert card.issuer == "1500" and card.address is None and card.nation is None


def test_foreign_permanent_2023_joins_the_english_name():
    name_en = "MONTGOMERY-WORTHINGTON, ALEXANDRA ELIZABETH"
    assert len(name_en) > 35
    text = block("Y", _0="罗安娜", _30="2", _32="00", _36="19800101", _52=name_en[:35], _122="931840198001010025",
                 _188="20231201", _204="20331201", _220=name_en[35:], _242="USA", _250="ABC")
    card = parse_card(text, PHOTO, TODAY)
    assert card.card_type == FOREIGN_2023
    assert (card.name, card.name_en, card.sex) == ("罗安娜", name_en, "女")
    assert (card.id_number, card.id_number_valid, card.issue_count) == ("931840198001010025", True, 0)
    assert (card.nationality, card.birth_date, card.valid_to) == ("USA", "1980-01-01", "2033-12-01")


def test_2023_english_name_with_a_space_at_the_split():
    name_en = "A" * 34 + " " + "B" * 5  # char 35 is a space, char 36 starts the second part
    text = block("Y", _0="罗", _30="1", _52=name_en[:35], _220=name_en[35:], _122="931840198001010025")
    assert parse_card(text, b"", TODAY).name_en == name_en


def test_unknown_card_type_and_wrong_size():
    with pytest.raises(CardFormatError):
        parse_card(block("Q"), b"", TODAY)
    with pytest.raises(CardFormatError):
        parse_card(resident_block()[:254], b"", TODAY)


@pytest.mark.parametrize("code, name", [("0", "未知"), ("1", "男"), ("2", "女"), ("9", "未说明")])
def test_sex_codes(code, name):
    assert SEX[code] == name
    text = bytearray(resident_block())
    text[30:32] = code.encode("utf-16-le")
    assert parse_card(bytes(text), b"", TODAY).sex == name


def test_nation_table_is_gbt3304_in_order():
    assert len([k for k in NATIONS if int(k) <= 56]) == 56
    assert NATIONS["01"] == "汉" and NATIONS["02"] == "蒙古" and NATIONS["08"] == "壮"
    assert NATIONS["15"] == "土家" and NATIONS["30"] == "土" and NATIONS["44"] == "俄罗斯"
    assert NATIONS["56"] == "基诺" and NATIONS["97"] == "其他" and NATIONS["98"] == "外国血统中国籍人士"
    assert len(set(NATIONS.values())) == len(NATIONS)
    assert parse_card(resident_block(nation="97"), b"", TODAY).nation == "其他"


def test_check_digit():
    assert check_digit("11010519491231002") == "X"
    assert id_number_valid("11010519491231002X")
    assert id_number_valid("11010519491231002x")
    assert not id_number_valid("110105194912310021")
    assert not id_number_valid("11010519491231002")
    assert not id_number_valid("1101051949123100２X")  # a full-width digit
    with pytest.raises(ValueError):
        check_digit("1234")


def test_bad_dates_are_kept_as_read_not_lost():
    text = bytearray(resident_block())
    text[36:52] = "19881399".encode("utf-16-le")
    assert parse_card(bytes(text), b"", TODAY).birth_date == "19881399"


def test_repr_carries_no_personal_data():
    card = parse_card(resident_block(), PHOTO, TODAY)
    text = repr(card)
    for secret in ("韦岚", "450329198802140427", "广西", "1988"):
        assert secret not in text


def test_masking_helpers():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("450329198802140427") == "450329********0427"
    assert mask_id_number("USA310801010015") == "USA310*****0015"
    assert mask_id_number("H60123456") == "*****3456"
    assert mask_id_number("123") == "***"
    assert mask_id_number(None) is None and mask_id_number("") == ""
    assert mask_name("韦岚") == "韦*" and mask_name("张三丰") == "张**" and mask_name("王") == "王"
    assert mask_name(None) is None
    assert mask_address("广西壮族自治区桂林市资源县资源镇示例路1号") == "广西壮族自治区****"
    assert mask_address("北京市东城区示例胡同1号") == "北京市****"
    assert mask_address("广东省深圳市福田区") == "广东省****"
    assert mask_address("香港特别行政区示例道") == "香港特别行政区****"
    assert mask_address("某地某处") == "某地****"
    assert mask_address("北京市") == "北京****"  # nothing after the first part: keep less


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_is_fictitious_and_valid(name):
    document = json.loads((FIXTURE_DIR / f"{name}.json").read_text(encoding="utf-8"))
    assert document["fictitious"] is True and "FICTITIOUS" in document["note"]
    sim_card = load_card(name)
    card = parse_card(sim_card.blocks.text, sim_card.blocks.photo, TODAY)
    assert card.card_type == document["card_type"]
    assert card.id_number == document["fields"]["id_number"]
    assert card.id_number_valid is (None if card.card_type == FOREIGN_2017 else True)
    assert sim_card.blocks.photo.startswith(b"\x57\x4C\x66\x00\x7E\x00\x32\x00")
    assert len(sim_card.blocks.photo) == 1024


def test_fixtures_cover_all_four_types():
    types = {json.loads((FIXTURE_DIR / f"{n}.json").read_text(encoding="utf-8"))["card_type"] for n in fixture_names()}
    assert types == {RESIDENT, HKMT_PERMIT, FOREIGN_2017, FOREIGN_2023}


def test_bad_fixtures_are_refused_with_a_message():
    with pytest.raises(FixtureError, match="card_type"):
        card_from_document({"card_type": "passport", "fields": {}})
    with pytest.raises(FixtureError, match="too long"):
        card_from_document({"card_type": RESIDENT, "fields": {"name": "长" * 16}})
    with pytest.raises(FixtureError, match="no field"):
        card_from_document({"card_type": RESIDENT, "fields": {"pass_number": "H1"}})
    with pytest.raises(FixtureError, match="no card fixture"):
        load_card("no_such_card")
