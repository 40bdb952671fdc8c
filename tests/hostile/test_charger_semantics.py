"""Property-based: calls of every charger-initiated OCPP 1.6 action that the schema accepts
but that are semantically odd — date-times in every RFC 3339 variant and strings that are not
date-times, connector ids out of range and huge integers, idTags in mixed case,
StartTransaction and StopTransaction in random order and replayed — never get an
InternalError; every CALL is answered with a CALLRESULT or a 1.6 CALLERROR, every frame is
stored, and the connector and transaction state stays consistent.

Runs in the suite on SQLite and, with DATABASE_URL, on PostgreSQL. One booted connection
per test is shared by its examples (hence the suppressed function_scoped_fixture check);
a Heartbeat probe after each sequence proves everything before it committed.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ocpp.v16 import enums

from chargers import services
from chargers.models import ChargerModel, Connector, Frame, IdTag, Manufacturer, Transaction
from chargers.ocpp import frames
from tests.chargers.ocpp_helpers import BOOT, adb, communicator

ANSWER_TIMEOUT = 20  # seconds; generous for a loaded CI machine, never reached when all is well


async def call(
    ws: WebsocketCommunicator, action: str, payload: dict[str, Any], unique_id: str = "1"
) -> list[Any]:
    """Send a CALL and return the decoded answer frame."""
    await ws.send_to(text_data=json.dumps([2, unique_id, action, payload]))
    return list(json.loads(await ws.receive_from(timeout=ANSWER_TIMEOUT)))


pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

KEY = "right-key-0123456789"
CONNECTORS = 2
TAGS = {"DEADBEEF": "Accepted", "CAFE01": "Blocked", "EXPIRED9": "Expired"}

SEMANTIC = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- What a charger might send ------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime.datetime(1, 1, 2), max_value=datetime.datetime(9999, 12, 30)
)
offsets = st.sampled_from(["Z", "z", "+00:00", "-00:00", "+01:00", "-05:30", "+14:00", ""])


@st.composite
def rfc3339(draw: st.DrawFn) -> str:
    """RFC 3339 in its variants (and without an offset, which the portal notes)."""
    moment = draw(moments)
    separator = draw(st.sampled_from(["T", "t", " "]))
    fraction = draw(st.sampled_from(["", ".5", ".123", ".123456", ".123456789012"]))
    second = draw(st.sampled_from([f"{moment.second:02d}", "60"]))  # "60": a leap second
    date = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"  # %Y does not pad 190
    time = f"{moment.hour:02d}:{moment.minute:02d}:{second}{fraction}"
    return f"{date}{separator}{time}{draw(offsets)}"


not_date_times = st.sampled_from(
    ["", "29/11/2026 15:28", "2026-11-29", "15:28:00", "2026-13-01T00:00:00Z", "now"]
) | st.text(max_size=30)


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Three in four draws usual, one odd: a call with one odd field among usual ones
    reaches the services, where a call with every field odd stops at the first check."""
    return st.sampled_from([usual, usual, usual, odd]).flatmap(lambda chosen: chosen)


timestamps = mostly(rfc3339(), not_date_times)
huge = st.sampled_from([-(2**63), -(2**31) - 1, -1, 2**31, 2**63, 2**70])
integers = mostly(st.integers(min_value=0, max_value=10**6), huge | st.integers())
connector_ids = mostly(
    st.sampled_from([0, 1, 2]), st.sampled_from([-1, 3, 7, 2**31 - 1, 2**64]) | huge
)


@st.composite
def id_tags(draw: st.DrawFn) -> str:
    """A known tag in mixed case, or any tag at all."""
    known = draw(st.sampled_from(sorted(TAGS)))
    flips = draw(st.lists(st.booleans(), min_size=len(known), max_size=len(known)))
    mixed = "".join(c.lower() if flip else c for c, flip in zip(known, flips, strict=True))
    return draw(mostly(st.sampled_from([mixed, known.lower(), known]), st.text(max_size=20)))


def enum_or_odd(values: type[Any]) -> st.SearchStrategy[str]:
    return mostly(st.sampled_from([v.value for v in values]), st.sampled_from(["", "available"]))


sampled_values = mostly(
    st.lists(
        st.fixed_dictionaries(
            {"value": st.text(max_size=10)},
            optional={
                "measurand": enum_or_odd(enums.Measurand),
                "unit": enum_or_odd(enums.UnitOfMeasure),
                "context": enum_or_odd(enums.ReadingContext),
            },
        ),
        min_size=1,
        max_size=2,
    ),
    st.just([]),
)
meter_values = mostly(
    st.lists(
        st.fixed_dictionaries({"timestamp": timestamps, "sampledValue": sampled_values}),
        min_size=1,
        max_size=2,
    ),
    st.just([]),
)


@dataclass
class Session:
    """What the test has sent so far: Starts to replay, transactionIds to stop."""

    starts: list[dict[str, Any]] = field(default_factory=list)
    transaction_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Known:
    """A transactionId the portal gave earlier in the test, picked when the call is sent
    (the strategy itself must not depend on what was sent: hypothesis replays it)."""

    index: int

    def resolve(self, session: Session) -> int:
        ids = session.transaction_ids
        return ids[self.index % len(ids)] if ids else self.index


@dataclass(frozen=True)
class Replay:
    """A StartTransaction sent earlier in the test, sent again."""

    index: int


def resolved(value: Any, session: Session) -> Any:
    if isinstance(value, Known):
        return value.resolve(session)
    if isinstance(value, dict):
        return {key: resolved(item, session) for key, item in value.items()}
    return value


def payloads() -> st.SearchStrategy[tuple[str, Any]]:
    start = st.fixed_dictionaries(
        {
            "connectorId": connector_ids,
            "idTag": id_tags(),
            "meterStart": integers,
            "timestamp": timestamps,
        },
        optional={"reservationId": integers},
    )
    known_ids = mostly(st.builds(Known, st.integers(min_value=0, max_value=50)), integers)
    stop = st.fixed_dictionaries(
        {"transactionId": known_ids, "meterStop": integers, "timestamp": timestamps},
        optional={
            "idTag": id_tags(),
            "reason": enum_or_odd(enums.Reason),
            "transactionData": meter_values,
        },
    )
    return st.one_of(
        st.tuples(st.just("StartTransaction"), start),
        st.tuples(st.just("StartTransaction"), st.builds(Replay, st.integers(0, 50))),
        st.tuples(st.just("StopTransaction"), stop),
        st.tuples(st.just("Authorize"), st.fixed_dictionaries({"idTag": id_tags()})),
        st.tuples(
            st.just("StatusNotification"),
            st.fixed_dictionaries(
                {
                    "connectorId": connector_ids,
                    "errorCode": enum_or_odd(enums.ChargePointErrorCode),
                    "status": enum_or_odd(enums.ChargePointStatus),
                },
                optional={"timestamp": timestamps, "info": st.text(max_size=50)},
            ),
        ),
        st.tuples(
            st.just("MeterValues"),
            st.fixed_dictionaries(
                {"connectorId": connector_ids, "meterValue": meter_values},
                optional={"transactionId": known_ids},
            ),
        ),
        st.tuples(st.just("Heartbeat"), st.just({})),
        st.tuples(
            st.just("BootNotification"),
            st.fixed_dictionaries(
                {
                    "chargePointVendor": st.text(max_size=20),
                    "chargePointModel": st.text(max_size=20),
                },
                optional={"firmwareVersion": st.text(max_size=50)},
            ),
        ),
        st.tuples(
            st.just("DataTransfer"),
            st.fixed_dictionaries(
                {"vendorId": st.text(max_size=30)}, optional={"data": st.text(max_size=30)}
            ),
        ),
        st.tuples(
            st.just("DiagnosticsStatusNotification"),
            st.fixed_dictionaries({"status": enum_or_odd(enums.DiagnosticsStatus)}),
        ),
        st.tuples(
            st.just("FirmwareStatusNotification"),
            st.fixed_dictionaries({"status": enum_or_odd(enums.FirmwareStatus)}),
        ),
    )


# --- The connection -----------------------------------------------------------------------


@dataclass
class Charger:
    ws: WebsocketCommunicator
    charge_point_pk: int
    session: Session


@pytest_asyncio.fixture
async def charger() -> AsyncIterator[Charger]:
    def create() -> int:
        model = ChargerModel.objects.create(
            manufacturer=Manufacturer.objects.create(name="Odd Chargers"),
            name="ODD-2",
            current_type="AC",
            connectors=CONNECTORS,
        )
        charge_point, _ = services.create_charge_point(
            "ODD1", authorization_key=KEY, charger_model=model
        )
        yesterday = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        for tag, status in TAGS.items():
            IdTag.objects.create(
                charge_point=charge_point,
                id_tag=tag,
                status="Accepted" if status == "Expired" else status,
                expiry_date=yesterday if status == "Expired" else None,
            )
        return charge_point.pk

    pk = await adb(create)()
    ws = communicator("ODD1", KEY)
    connected, _ = await ws.connect(timeout=ANSWER_TIMEOUT)
    assert connected
    assert (await call(ws, "BootNotification", BOOT, "boot"))[2]["status"] == "Accepted"
    yield Charger(ws, pk, Session())
    await ws.disconnect()


# --- The property -------------------------------------------------------------------------


def check_answer(answer: list[Any], unique_id: str, action: str, payload: Any) -> None:
    assert answer[1] == unique_id, answer
    if answer[0] == frames.CALLRESULT:
        assert len(answer) == 3 and isinstance(answer[2], dict), answer
        return
    assert answer[0] == frames.CALLERROR and len(answer) == 5, answer
    code, description, details = answer[2:]
    assert code in frames.ERROR_CODES_1_6 and code != "InternalError", (action, payload, answer)
    assert isinstance(description, str) and description.endswith("."), answer
    assert isinstance(details, dict), answer


def state_is_consistent(charge_point_pk: int) -> None:
    connectors = list(Connector.objects.filter(charge_point_id=charge_point_pk))
    assert all(0 <= c.connector_id <= CONNECTORS for c in connectors), connectors
    transactions = {t.pk: t for t in Transaction.objects.filter(charge_point_id=charge_point_pk)}
    assert all(1 <= t.connector_id <= CONNECTORS for t in transactions.values())
    for connector in connectors:
        if connector.current_transaction_id is None:
            continue
        current = transactions[connector.current_transaction_id]
        assert current.is_ongoing(), (connector, current, current.state())
        assert current.connector_id == connector.connector_id
    for tx in transactions.values():
        assert (tx.stopped_at is None) == (tx.meter_stop is None), tx
        assert tx.started_at.tzinfo is not None


@SEMANTIC
@given(data=st.data())
async def test_odd_but_schema_valid_calls_are_answered_stored_and_keep_state_consistent(
    charger: Charger, data: st.DataObject
) -> None:
    sent: list[str] = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=6), label="calls")):
        action, drawn = data.draw(payloads(), label="call")
        session = charger.session
        if isinstance(drawn, Replay):
            if not session.starts:
                continue
            payload = session.starts[drawn.index % len(session.starts)]
        else:
            payload = resolved(drawn, session)
        unique_id = str(uuid.uuid4())
        answer = await call(charger.ws, action, payload, unique_id)
        check_answer(answer, unique_id, action, payload)
        replayed = " (replayed)" if isinstance(drawn, Replay) else ""
        event(f"{action}{replayed}: {'CALLRESULT' if answer[0] == 3 else answer[2]}")
        sent.append(unique_id)
        if action == "StartTransaction" and answer[0] == frames.CALLRESULT:
            session.starts.append(payload)
            session.transaction_ids.append(answer[2]["transactionId"])
    probe = str(uuid.uuid4())
    assert (await call(charger.ws, "Heartbeat", {}, probe))[0] == frames.CALLRESULT

    def stored() -> None:
        calls = set(
            Frame.objects.filter(
                charge_point_id=charger.charge_point_pk, direction="in", unique_id__in=sent
            ).values_list("unique_id", flat=True)
        )
        answers = set(
            Frame.objects.filter(
                charge_point_id=charger.charge_point_pk, direction="out", unique_id__in=sent
            ).values_list("unique_id", flat=True)
        )
        assert calls == set(sent) and answers == set(sent)
        state_is_consistent(charger.charge_point_pk)

    await adb(stored)()


async def test_the_strategies_reach_the_cases_the_property_is_about(charger: Charger) -> None:
    """Pinned instances of each kind, so that a weaker strategy shows up here."""
    cases = [
        (
            "StartTransaction",
            {
                "connectorId": 7,
                "idTag": "deadbeef",
                "meterStart": 0,
                "timestamp": "2026-11-29t15:28:00.123456789z",
            },
        ),
        (
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "DeadBeef",
                "meterStart": 2**70,
                "timestamp": "2026-11-29 15:28:60",
            },
        ),
        ("StopTransaction", {"transactionId": 2**64, "meterStop": -1, "timestamp": ""}),
        ("MeterValues", {"connectorId": -1, "meterValue": []}),
        (
            "StatusNotification",
            {"connectorId": 2**31, "errorCode": "NoError", "status": "available"},
        ),
    ]
    for number, (action, payload) in enumerate(cases):
        answer = await call(charger.ws, action, payload, f"pin-{number}")
        check_answer(answer, f"pin-{number}", action, payload)
    await adb(state_is_consistent)(charger.charge_point_pk)
