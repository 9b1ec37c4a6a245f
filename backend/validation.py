"""Checks shared by the write routes: text fields, names and phone numbers, each refusal one line
(422) that never repeats the value it refuses (it may be a name or a number)."""
from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException

# Mobile (11 digits from 13x to 19x) or an area-coded fixed line, with or without the dash.
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
MAX_NAME_CHARS = 80  # a foreign card's English name can be long


def refuse(message: str) -> HTTPException:
    return HTTPException(422, message)


def has_control(text: str, allow_newlines: bool = False) -> bool:
    allowed = "\n\r\t" if allow_newlines else ""
    return any((ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) and ch not in allowed for ch in text)


def check_text(value: Any, where: str, *, max_chars: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise refuse(f"{where} must be a non-empty string" if required else f"{where} must be a string")
    value = value.strip()
    if len(value) > max_chars:
        raise refuse(f"{where} is too long: at most {max_chars} characters")
    if has_control(value):
        raise refuse(f"{where} contains control characters")
    return value


def check_name(value: Any, where: str) -> str:
    name = check_text(value, where, max_chars=MAX_NAME_CHARS)
    if any(ch.isdigit() for ch in name):
        raise refuse(f"{where} must not contain digits")
    return name


def check_phone(value: Any, where: str) -> str:
    phone = value.strip().replace(" ", "") if isinstance(value, str) else None
    if phone is None or not PHONE.match(phone):
        raise refuse(f"{where} must be a mobile number (11 digits) or an area-coded fixed line")
    return phone
