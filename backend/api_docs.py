"""The platform's OpenAPI document: every request body, header and answer, as the routes behave.

The routes read their bodies themselves (one-line refusals, idempotency fingerprints, multipart),
so FastAPI cannot infer the bodies; each route declares them here through ``openapi_extra`` and
``responses``, from the pydantic models below. The models describe the wire format only; they do
not validate requests (the routes do, with the messages a technician reads).
"""
from __future__ import annotations

from typing import Any, Literal, Optional

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"
ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9Xx]$"
RECEIPT_PATTERN = r"^ZW[0-9]{10}-[0-9]{8}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- answers ---------------------------------------------------------------------------------------

class Error(BaseModel):
    """Every refusal: one line saying why."""

    error: str


class ReceiptNumberTaken(BaseModel):
    """409: the proposed receipt number belongs to another submission (permanent: do not retry)."""

    error: Literal["receipt_no_taken", "request_no_taken"]
    message: str


class Material(BaseModel):
    name: str
    kind: Literal["original", "copy"]
    count: int
    required: bool
    note: str
    licence: str | None = Field(None, description="the electronic licence type that can stand for it, if any")


class MaterialEnglish(BaseModel):
    name: str
    note: str


class ItemEnglish(BaseModel):
    name: str
    department: str
    conditions: str
    materials: list[MaterialEnglish]
    steps: list[str]
    fees: str
    fee_basis: str
    legal_basis: str


class CatalogueItem(BaseModel):
    id: str
    name: str
    department: str
    level: Literal["county", "town", "village"]
    category: str
    conditions: str
    materials: list[Material]
    steps: list[str]
    time_limit_days: int
    fees: str
    fee_basis: str
    legal_basis: str
    phone: str
    supervision_phone: str
    kiosk_submittable: bool
    en: Optional[ItemEnglish] = None


class Place(BaseModel):
    code: str
    kind: Literal["county", "town", "village", "self_service"]
    name: str
    name_en: str
    town: str
    village: str
    address: str
    address_en: str
    hours: str
    hours_en: str
    phone: str
    levels: list[Literal["county", "town", "village"]]
    kiosk_items: bool = Field(description="handles every item a kiosk can take (a 24-hour self-service zone)")


class PlaceWithItems(Place):
    items: list[str] = Field(description="ids of the items this place handles")


class PlaceList(BaseModel):
    places: list[PlaceWithItems]


class FormField(BaseModel):
    label: str
    card: Literal["", "name", "sex", "ethnicity", "birth", "id_number", "address"] = ""
    lines: int = 1


class KioskForm(BaseModel):
    material: str = Field(description="the material (by name) this form is")
    title: str
    fields: list[FormField]
    declaration: str


class Catalogue(BaseModel):
    version: str
    items: list[CatalogueItem]
    places: list[Place] = []
    forms: list[KioskForm] = []


class HistoryEntry(BaseModel):
    status: str
    status_code: str
    at: str
    note: str


class Delivery(BaseModel):
    method: str
    label: str
    address: str | None = Field(None, description="masked to its province-level part")
    courier: str | None = None
    tracking_no: str | None = None


class ShipmentStep(BaseModel):
    step: Literal["created", "collected", "in_transit", "out_for_delivery", "delivered"]
    label: str = Field(description="in Chinese: 已下单, 已揽收, 运输中, 派送中, 已签收")
    at: str
    note: str


class Shipment(BaseModel):
    tracking_no: str = Field(description="the courier's waybill number")
    courier: str
    kind: Literal["deliver", "pickup"] = Field(description="to the citizen's door, or their originals collected")
    kind_label: str
    status: Literal["created", "collected", "in_transit", "out_for_delivery", "delivered"]
    status_label: str
    address: str = Field(description="up to the township, the rest hidden")
    steps: list[ShipmentStep]
    pickup_from: str | None = None
    pickup_until: str | None = None


class MaskedPerson(BaseModel):
    name: str = Field(description="masked: 韦*")
    id_number: str = Field(description="masked: 450329********0427")


class MaterialPages(BaseModel):
    name: str
    pages: int
    licence: str | None = Field(None, description="the electronic licence given instead of pages (its id)")


class Application(BaseModel):
    receipt_no: str
    item_id: str
    item_name: str
    department: str
    status: str
    status_code: str
    history: list[HistoryEntry]
    received_at: str
    time_limit_days: int
    deadline: str
    delivery: Delivery
    applicant: MaskedPerson
    materials: list[MaterialPages]
    shipments: list[Shipment] = Field(default_factory=list, description="courier parcels for it, with their steps")


class ApplicationList(BaseModel):
    items: list[Application]


class ListedCertificate(BaseModel):
    id: str
    kind: str
    title: str
    department: str
    issued_on: str
    valid_until: str | None
    expired: bool
    document: str = Field(description="path of the PDF, under the platform's address")


class CertificateList(BaseModel):
    items: list[ListedCertificate]


class SubmissionAnswer(BaseModel):
    receipt_no: str
    item_id: str
    item_name: str
    status: str
    received_at: str
    deadline: str
    materials: list[MaterialPages]


class RatingAnswer(BaseModel):
    rating_id: int
    subject: str
    score: int
    score_label: str
    follow_up: bool
    received_at: str


class ServiceRequestAnswer(BaseModel):
    request_no: str
    kind: str
    kind_label: str
    status: str
    received_at: str


class HeartbeatAnswer(BaseModel):
    kiosk_id: str
    received_at: str


class Verification(BaseModel):
    genuine: bool
    code: str | None = None
    error: str | None = None
    title: str | None = None
    holder: str | None = Field(None, description="masked: 蒙**")
    department: str | None = None
    issued_on: str | None = None
    valid_until: str | None = None
    expired: bool | None = None


# -- request bodies --------------------------------------------------------------------------------

class Applicant(Strict):
    name: str = Field(min_length=1, max_length=80)
    id_number: str = Field(pattern=ID_NUMBER_PATTERN)
    phone: str = Field(min_length=7, max_length=20)


class SubmittedMaterial(Strict):
    name: str
    pages: list[str] | None = Field(None, min_length=1, description="file names of the 'files' parts, in page "
                                                                    "order (or else licence)")
    licence: str | None = Field(None, max_length=32, description="the id of the applicant's electronic licence "
                                                                 "that stands for the material (or else pages)")


class ChosenAddress(Strict):
    division: str = Field(pattern=r"^\d{12}$", description="a village (or a town without villages) the platform serves")
    house: str = Field(max_length=24, description="as typed on the keypad: 12号, 3栋2单元401室")


class PickupTime(Strict):
    date: str = Field(description="YYYY-MM-DD, China time")
    slot: Literal["am", "pm"] = Field(description="am 09:00-12:00, pm 14:00-18:00")


class SubmittedDelivery(Strict):
    method: Literal["pickup", "post", "courier"]
    address: str | ChosenAddress | None = Field(None, description="post: the address text (≤ 200 characters); "
                                                "courier: the address chosen from the divisions")
    phone: str | None = Field(None, description="courier: the phone the courier calls")
    pickup: PickupTime | None = Field(None, description="courier: when to collect the originals, if any")


class Submission(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "item_id": "JY-002", "materials": [], "delivery": {"method": "pickup"},
        "applicant": {"name": "韦岚", "id_number": "11010519491231002X", "phone": "13800000000"}}]})

    item_id: str = Field(description="a catalogue item that can be submitted at a kiosk")
    applicant: Applicant
    materials: list[SubmittedMaterial] = Field(max_length=30)
    delivery: SubmittedDelivery
    receipt_no: str | None = Field(None, pattern=RECEIPT_PATTERN,
                                   description="the number the kiosk printed: ZW, its 4-digit number, YYMMDD, "
                                               "'-', 8 digits; at most tomorrow's date")
    kiosk_id: str | None = Field(None, description="must be the kiosk of the bearer token")
    mobile_token: str | None = Field(None, min_length=32, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="a random token the kiosk drew for the receipt's phone link "
                                                 "(/m/{token}); never used before")


class SubmissionMultipart(BaseModel):
    payload: str = Field(description="the Submission as JSON")
    files: list[bytes] = Field(default_factory=list, description="one part per page, JPEG or PDF, ≤ 16 MiB each")


class Rating(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"subject": "service", "score": 5, "tags": ["办事快"], "comment": "很方便"}]})

    subject: str = Field(max_length=32, description="a catalogue item id, or \"service\"")
    score: int = Field(ge=1, le=5)
    tags: list[str] = Field(default_factory=list, max_length=8)
    comment: str | None = Field(None, max_length=300)
    receipt_no: str | None = Field(None, max_length=40)
    callback_phone: str | None = Field(None, max_length=20, description="an unhappy citizen asks to be called back")


class ServiceRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "proxy", "name": "黄建国", "phone": "0773-4312345"}]})

    kind: Literal["home_visit", "proxy"]
    item_id: str | None = None
    name: str = Field(min_length=1, max_length=80)
    phone: str = Field(max_length=20)
    address: str | None = Field(None, max_length=200, description="required for a home visit")
    preferred_time: str | None = Field(None, max_length=50)
    note: str | None = Field(None, max_length=300)
    request_no: str | None = Field(None, max_length=40, description="the number the kiosk showed and printed, "
                                   "in its own space (ZW + kiosk number + YYMMDD + 8 digits)")
    mobile_token: str | None = Field(None, min_length=32, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="a random token the kiosk drew for the slip's phone link")


class FleetReport(Strict):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"kind": "applied", "scope": "county", "version": 2, "from_version": 1}]})
    kind: Literal["applied", "rolled_back", "refused"]
    scope: str = Field(description="county, town/<town> or kiosk/<id>")
    version: int = Field(ge=0)
    from_version: int | None = Field(None, ge=0)
    reason: str = Field("", max_length=2000)


class FleetReportAnswer(BaseModel):
    recorded: bool


class Heartbeat(BaseModel):
    """The kiosk's state, kept as sent (a JSON object); fleet fields, when present, are checked."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{"ok": True}]})


MODELS = (Error, ReceiptNumberTaken, Catalogue, CatalogueItem, PlaceList, Application, ApplicationList, CertificateList,
          SubmissionAnswer, RatingAnswer, ServiceRequestAnswer, HeartbeatAnswer, Verification, Submission,
          SubmissionMultipart, Rating, ServiceRequest, Heartbeat, FleetReport, FleetReportAnswer)


# Models other modules add for their own routes (``register_models``), beside MODELS.
EXTRA_MODELS: list[type[BaseModel]] = []


def register_models(*models: type[BaseModel]) -> None:
    for model in models:
        if model not in EXTRA_MODELS:
            EXTRA_MODELS.append(model)


# -- what routes declare ---------------------------------------------------------------------------

def ref(model: type[BaseModel]) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def json_answer(model: type[BaseModel], description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref(model)}}}


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
KIOSK = {
    401: {**json_answer(Error, "no bearer token"),
          "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}},
    403: json_answer(Error, "token not recognised, X-Kiosk-Id not the token's kiosk, or someone else's records"),
    429: {**json_answer(Error, "too many failed authentications from this address, or a kiosk over its limits"),
          "headers": RETRY_AFTER},
    400: json_answer(Error, "a parameter or header of the wrong shape"),
}
WRITE = {
    413: json_answer(Error, "the body is larger than the limit (counted while reading, whatever the framing)"),
    415: json_answer(Error, "a content type other than JSON (or multipart where files are taken)"),
    422: json_answer(Error, "the content is refused: one line naming the field; stored as the key's answer"),
}
REPLAY_HEADER = {"Idempotent-Replay": {"description": "true when this is the stored answer to a repeated key",
                                       "schema": {"type": "string"}}}


def header(name: str, description: str, *, required: bool = False, pattern: str | None = None,
           max_length: int | None = None) -> dict:
    schema: dict[str, Any] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    if max_length:
        schema["maxLength"] = max_length
    return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}


KIOSK_ID_HEADER = header("X-Kiosk-Id", "the calling kiosk's id; must match the token's kiosk when sent",
                         max_length=64)
SUBJECT_HEADER = header("X-Subject-Id-Number", "the ID number from the card the kiosk has just read; "
                        "must be the person asked about", required=True, pattern=ID_NUMBER_PATTERN)
EVIDENCE_NOTE = ("X-Subject-Evidence-* headers, when a production platform's SubjectVerifier asks for them "
                 "(for example a face match with the card photo), are passed to it")
IDEMPOTENCY_KEY = header("Idempotency-Key", "one key per write: a repeat gets the first answer, never a "
                         "second effect", required=True, pattern=r"^[!-~]{1,255}$")


def kiosk_route(answers: dict, *, parameters: tuple[dict, ...] = (), body: dict | None = None,
                write: bool = False, description: str | None = None) -> dict:
    """The decorator arguments that document a kiosk (token) route."""
    responses = {**KIOSK, **(WRITE if write else {}), **answers}
    extra: dict[str, Any] = {"parameters": [KIOSK_ID_HEADER, *parameters]}
    if body is not None:
        extra["requestBody"] = body
    out: dict[str, Any] = {"responses": responses, "openapi_extra": extra}
    if description:
        out["description"] = description
    return out


def json_body(model: type[BaseModel]) -> dict:
    return {"required": True, "content": {"application/json": {"schema": ref(model)}}}


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the models, the bearer scheme, and drop FastAPI's 422 (validation
    errors are 400 here, and a 422 is a content refusal documented by the route)."""

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes)
        _, definitions = models_json_schema([(model, "validation") for model in (*MODELS, *EXTRA_MODELS)],
                                            ref_template=REF)
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.update(definitions.get("$defs", {}))
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        components["securitySchemes"] = {"kioskToken": {"type": "http", "scheme": "bearer",
                                                        "description": "the kiosk's token (≥ 128 bits)"}}
        for path, item in document.get("paths", {}).items():
            for operation in item.values():
                answers = operation.get("responses", {})
                wrong = answers.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
                if wrong.get("$ref", "").endswith("/HTTPValidationError"):
                    del answers["422"]
                if path.startswith("/api/v1/"):
                    operation.setdefault("security", [{"kioskToken": []}])
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
