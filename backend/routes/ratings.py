"""``POST /api/v1/ratings``: 好差评, a citizen's rating of an item's handling or of the service.

Body (JSON)::

    {"subject": "SB-001" | "service", "score": 1..5, "tags": ["办事快"], "comment": "…",
     "receipt_no": "ZW0001261123-48213377", "callback_phone": "13807730018"}

``score`` follows the national 好差评 scale: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意.
``tags`` (at most 8, each 1–20 characters) and ``comment`` (at most 300 characters) are optional, as
is ``receipt_no``; it is checked for shape only, because a rating may arrive before the submission
it is about when both wait in a kiosk's outbox. A 差评 (score 1 or 2) is answered with
``follow_up: true``: the rules require someone to call back and put it right (整改);
``callback_phone`` (optional) is the number the citizen asked to be called on.

Answer 201 ``{rating_id, subject, score, score_label, follow_up, received_at}``; a repeat of the
Idempotency-Key answers the same.
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend import numbers
from backend.auth import require_kiosk
from backend.bodies import read_body
from backend.clock import local_iso, to_utc
from backend.db import catalogue_items, ratings
from backend.idempotency import IdempotentWrite, idempotent_write
from backend.validation import check_phone, has_control, refuse

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(require_kiosk)])

SCORE_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
MAX_TAGS = 8
MAX_TAG_CHARS = 20
MAX_COMMENT_CHARS = 300
FIELDS = {"subject", "score", "tags", "comment", "receipt_no", "callback_phone"}


def check_rating(conn: sa.Connection, body: Any) -> dict:
    if not isinstance(body, dict):
        raise refuse("a rating is a JSON object")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise refuse(f"unknown field {unknown[0]!r}; a rating has {', '.join(sorted(FIELDS))}")
    subject = body.get("subject")
    if subject != "service":
        if not isinstance(subject, str) or conn.execute(
                sa.select(catalogue_items.c.id).where(catalogue_items.c.id == subject)).first() is None:
            raise refuse("subject must be a catalogue item id or \"service\"")
    score = body.get("score")
    if type(score) is not int or score not in SCORE_LABELS:
        raise refuse("score must be an integer from 1 (非常不满意) to 5 (非常满意)")
    tags = body.get("tags", [])
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise refuse(f"tags must be a list of at most {MAX_TAGS} short texts")
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG_CHARS or has_control(tag):
            raise refuse(f"each tag must be 1 to {MAX_TAG_CHARS} characters of text")
    comment = body.get("comment", "")
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or has_control(comment, allow_newlines=True):
        raise refuse("comment must be text")
    if len(comment) > MAX_COMMENT_CHARS:
        raise refuse(f"comment is too long: at most {MAX_COMMENT_CHARS} characters")
    receipt_no = body.get("receipt_no")
    if receipt_no is not None:
        receipt_no = numbers.canonical(receipt_no)
        if receipt_no is None:
            raise refuse("receipt_no is not a receipt number like ZW0001261123-48213377")
    callback_phone = body.get("callback_phone")
    if callback_phone is not None:
        callback_phone = check_phone(callback_phone, "callback_phone")
    return {"subject": subject, "score": score, "tags": [t.strip() for t in tags],
            "comment": comment.strip(), "receipt_no": receipt_no, "callback_phone": callback_phone}


@router.post("/ratings", status_code=201, **docs.kiosk_route({
    201: {**docs.json_answer(docs.RatingAnswer, "stored"), "headers": docs.REPLAY_HEADER},
}, parameters=(docs.IDEMPOTENCY_KEY,), write=True, body=docs.json_body(docs.Rating)))
async def post_rating(request: Request, write: IdempotentWrite = Depends(idempotent_write)) -> Response:
    body = await read_body(request, allow_files=False)
    db = request.app.state.db

    def work(conn: sa.Connection) -> tuple[int, dict]:
        rating = check_rating(conn, body.json)
        now = db.clock()
        rating_id = conn.execute(sa.insert(ratings).values(
            **rating, kiosk_id=write.kiosk_id, created_at=to_utc(now))).inserted_primary_key[0]
        log.info("rating %d received: subject %s, score %d, kiosk %s", rating_id, rating["subject"],
                 rating["score"], write.kiosk_id)
        return 201, {"rating_id": rating_id, "subject": rating["subject"], "score": rating["score"],
                     "score_label": SCORE_LABELS[rating["score"]], "follow_up": rating["score"] <= 2,
                     "received_at": local_iso(now)}

    return await run_in_threadpool(write.run, body.fingerprint(), work)
