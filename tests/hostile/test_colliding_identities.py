"""Two chargePointIds that the old channel-layer group names mapped to one group.

`_` was escaped to `_5f` and the name cut to 99 characters, so 32 `_` followed by `A`, and
the same followed by `B`, shared the group `ocpp.cp._5f_5f...`: one charger knocked the
other off, received its commands and had its frames attached to the other's run.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from certification.models import TestPlan
from certification.services import create_run, install_default_plan, start_step
from chargers import services
from chargers.models import ChargePoint, FirmwareVersion, Frame, User, charge_point_group, run_group
from tests.chargers.ocpp_helpers import adb, call, communicator

pytestmark = [pytest.mark.django_db(transaction=True)]

KEY_A = "key-of-a-0123456789"
KEY_B = "key-of-b-0123456789"
IDENTITY_A = "_" * 32 + "A"
IDENTITY_B = "_" * 32 + "B"


@pytest.fixture
def two_charge_points(
    c8eu_firmware: FirmwareVersion, rival_firmware: FirmwareVersion
) -> tuple[ChargePoint, ChargePoint]:
    a, _ = services.create_charge_point(
        IDENTITY_A,
        authorization_key=KEY_A,
        charger_model=c8eu_firmware.charger_model,
        firmware_version=c8eu_firmware,
    )
    b, _ = services.create_charge_point(
        IDENTITY_B,
        authorization_key=KEY_B,
        charger_model=rival_firmware.charger_model,
        firmware_version=rival_firmware,
    )
    return a, b


def test_every_group_name_is_distinct_and_legal(
    two_charge_points: tuple[ChargePoint, ChargePoint],
) -> None:
    a, b = two_charge_points
    names = {a.group_name(), b.group_name(), run_group(a.pk), run_group(b.pk)}
    assert len(names) == 4
    for name in names:
        assert len(name) < 100 and all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)
    assert charge_point_group(a.pk) == a.group_name()


@pytest.mark.asyncio
async def test_the_second_identity_does_not_knock_the_first_off(
    two_charge_points: tuple[ChargePoint, ChargePoint],
) -> None:
    ws_a = communicator(IDENTITY_A, KEY_A)
    assert (await ws_a.connect())[0]
    ws_b = communicator(IDENTITY_B, KEY_B)
    assert (await ws_b.connect())[0]
    # A is still connected and answered.
    answer = await call(ws_a, "Heartbeat", {})
    assert answer[0] == 3
    await ws_a.disconnect()
    await ws_b.disconnect()


@pytest.mark.asyncio
async def test_a_command_reaches_only_its_own_charger(
    two_charge_points: tuple[ChargePoint, ChargePoint],
) -> None:
    _, b = two_charge_points
    ws_a = communicator(IDENTITY_A, KEY_A)
    await ws_a.connect()
    ws_b = communicator(IDENTITY_B, KEY_B)
    await ws_b.connect()
    payload = {"location": "ftp://diag:secret@127.0.0.1:2121/", "retries": 1}
    sending = asyncio.ensure_future(services.send_command_async(b, "GetDiagnostics", payload))
    frame = json.loads(await ws_b.receive_from(timeout=5))
    assert frame[2] == "GetDiagnostics" and frame[3]["location"] == payload["location"]
    await ws_b.send_to(text_data=json.dumps([3, frame[1], {}]))
    await asyncio.wait_for(sending, 5)
    assert await ws_a.receive_nothing(timeout=0.3)
    await ws_a.disconnect()
    await ws_b.disconnect()


@pytest.mark.asyncio
async def test_frames_of_one_never_become_evidence_of_the_others_run(
    two_charge_points: tuple[ChargePoint, ChargePoint], engineer: User
) -> None:
    a, b = two_charge_points

    @sync_to_async
    def start_a_run() -> int:
        plan: TestPlan = install_default_plan()
        run = create_run(
            charge_point=a, plan=plan, tester=engineer, firmware_version=a.firmware_version
        )
        start_step(run, plan.steps.order_by("number")[0], engineer)
        return run.pk

    ws_a = communicator(IDENTITY_A, KEY_A)
    await ws_a.connect()
    ws_b = communicator(IDENTITY_B, KEY_B)
    await ws_b.connect()
    run_id = await start_a_run()
    await asyncio.sleep(0.2)  # the step's context travels through the channel layer
    await call(ws_b, "Heartbeat", {}, unique_id="b1")
    await call(ws_a, "Heartbeat", {}, unique_id="a1")
    await ws_a.disconnect()
    await ws_b.disconnect()

    frames = await adb(lambda: list(Frame.objects.values_list("charge_point_id", "run_id")))()
    assert (a.pk, run_id) in frames
    assert {run for cp, run in frames if cp == b.pk} == {None}
