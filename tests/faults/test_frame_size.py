"""Frames up to OCPP_MAX_FRAME_BYTES are taken; a larger one is recorded as refused (cut
short, saying its size and the limit) and the connection closed with 1009 Message Too Big.
Daphne's own limit is above the portal's, so the refusal is the portal's and on record."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.core.management import call_command
from websockets.typing import Subprotocol

from chargers import services
from chargers.models import ChargePoint, ConnectionEvent, Frame
from chargers.ocpp.consumer import KEPT_OF_REFUSED_FRAME
from tests.chargers.ocpp_helpers import adb, communicator
from tests.faults.charger import basic_auth, connect
from tests.faults.evidence import NO_FTP
from tests.live import daphne_server, eventually

KEY = "right-key-0123456789"
LIMIT = 10_000  # the unit tests' limit; the live test uses the default


@pytest.fixture
def charge_point(db: None) -> ChargePoint:
    charge_point, _ = services.create_charge_point("CP1", authorization_key=KEY)
    return charge_point


def data_transfer_of(size: int, unique_id: str = "1") -> str:
    """A DataTransfer CALL of exactly ``size`` bytes of UTF-8, padded with two-byte
    characters: fewer characters than bytes, so a limit counted in characters would show."""
    frame = [2, unique_id, "DataTransfer", {"vendorId": "Xcharge", "data": ""}]
    room = size - len(json.dumps(frame, ensure_ascii=False).encode())
    frame[3]["data"] = "é" * (room // 2) + "x" * (room % 2)  # type: ignore[index]
    text = json.dumps(frame, ensure_ascii=False)
    assert len(text.encode()) == size
    return text


def frames_of(charge_point: ChargePoint) -> list[Frame]:
    return list(Frame.objects.filter(charge_point=charge_point).order_by("pk"))


def events_of(charge_point: ChargePoint) -> list[tuple[str, int | None, str]]:
    return list(
        ConnectionEvent.objects.filter(charge_point=charge_point)
        .order_by("pk")
        .values_list("kind", "close_code", "detail")
    )


# --- the consumer, through Channels' communicator -------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_frame_of_exactly_the_limit_is_answered(
    charge_point: ChargePoint, settings: Any
) -> None:
    settings.OCPP_MAX_FRAME_BYTES = LIMIT
    text = data_transfer_of(LIMIT)
    ws = communicator()
    await ws.connect()
    await ws.send_to(text_data=text)
    answer = json.loads(await ws.receive_from(timeout=5))
    await ws.disconnect()
    assert answer[:2] == [3, "1"] and "status" in answer[2]
    inbound, _ = await adb(frames_of)(charge_point)
    assert (inbound.raw, inbound.action, inbound.validation_error) == (text, "DataTransfer", "")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_frame_over_the_limit_is_recorded_as_refused_and_closed_with_1009(
    charge_point: ChargePoint, settings: Any
) -> None:
    settings.OCPP_MAX_FRAME_BYTES = LIMIT
    text = data_transfer_of(LIMIT + 1)
    assert len(text) < LIMIT  # over in bytes, not in characters
    ws = communicator()
    await ws.connect()
    await ws.send_to(text_data=text)
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 1009}
    await ws.disconnect(code=1009)

    [refused] = await adb(frames_of)(charge_point)
    assert refused.direction == "in" and refused.raw == text[:KEPT_OF_REFUSED_FRAME]
    assert refused.validation_error == (
        f"frame of {LIMIT + 1} bytes refused: over the limit of {LIMIT} bytes "
        f"(OCPP_MAX_FRAME_BYTES); stored cut to its first {KEPT_OF_REFUSED_FRAME} characters"
    )
    assert await adb(events_of)(charge_point) == [
        ("connected", None, "subprotocol ocpp1.6"),
        ("closed", 1009, f"frame of {LIMIT + 1} bytes over the limit of {LIMIT} bytes"),
    ]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_close_by_daphne_for_a_too_big_message_is_explained(
    charge_point: ChargePoint, settings: Any
) -> None:
    settings.OCPP_TRANSPORT_MAX_BYTES = 4 * LIMIT
    ws = communicator()
    await ws.connect()
    await ws.disconnect(code=1009)  # what Daphne tells the consumer after refusing one
    assert (await adb(events_of)(charge_point))[-1] == (
        "closed",
        1009,
        f"Daphne refused a message over {4 * LIMIT} bytes",
    )


@pytest.mark.django_db  # serve closes stale rows and fails stale commands before it starts
def test_serve_lets_daphne_pass_frames_above_the_portal_limit(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr("daphne.cli.CommandLineInterface.run", lambda self, argv: seen.append(argv))
    monkeypatch.setattr(
        "chargers.management.commands.serve.close_connections_of_dead_workers", lambda: 0
    )
    settings.OCPP_TRANSPORT_MAX_BYTES = 3 * 2**20
    call_command("serve", "--port", "8765", "--no-ftp")
    [argv] = seen
    assert argv[argv.index("--websocket-max-message-size") + 1] == str(3 * 2**20)
    assert argv[argv.index("--websocket-max-frame-size") + 1] == str(3 * 2**20)


# --- a live Daphne with the default limits --------------------------------------------------


async def send_frames_of(ws_url: str, sizes: list[int]) -> list[Any]:
    """One connection per size; what came back: the answer, or the close code."""
    outcomes: list[Any] = []
    for n, size in enumerate(sizes):
        async with connect(ws_url, "CP1", KEY) as charger:
            await charger.ws.send(data_transfer_of(size, unique_id=str(n)))
            try:
                outcomes.append(json.loads(await asyncio.wait_for(charger.ws.recv(), 10)))
            except websockets.ConnectionClosed as closed:
                outcomes.append(closed.rcvd.code if closed.rcvd else repr(closed))
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_a_live_daphne_answers_up_to_the_limit_and_records_what_is_beyond(
    charge_point: ChargePoint, tmp_path: Path, settings: Any
) -> None:
    limit, transport = settings.OCPP_MAX_FRAME_BYTES, settings.OCPP_TRANSPORT_MAX_BYTES
    assert (limit, transport) == (64 * 1024, 1024 * 1024)  # the documented defaults
    with daphne_server(tmp_path, extra_env=NO_FTP) as server:
        outcomes = asyncio.run(
            send_frames_of(server.ws_url, [limit, limit + 1, transport, transport + 1])
        )
        assert eventually(lambda: len(events_of(charge_point)) == 8), server.log()

    at_limit, *beyond = outcomes
    assert at_limit[:2] == [3, "0"]
    assert beyond == [1009, 1009, 1009]  # close codes the charger received
    frames = frames_of(charge_point)
    assert (frames[0].direction, len(frames[0].raw.encode())) == ("in", limit)
    assert (frames[1].direction, frames[1].message_type) == ("out", 3)
    refusals = [f.validation_error for f in frames[2:]]
    assert refusals == [
        f"frame of {size} bytes refused: over the limit of {limit} bytes "
        f"(OCPP_MAX_FRAME_BYTES); stored cut to its first {KEPT_OF_REFUSED_FRAME} characters"
        for size in (limit + 1, transport)
    ]
    closes = [e for e in events_of(charge_point) if e[0] == "closed"]
    assert closes == [
        ("closed", 1000, ""),
        ("closed", 1009, f"frame of {limit + 1} bytes over the limit of {limit} bytes"),
        ("closed", 1009, f"frame of {transport} bytes over the limit of {limit} bytes"),
        # Beyond Daphne's own limit the frame never reaches the portal; the close does.
        (
            "closed",
            1009,
            f"received WebSocket message size {transport + 1} exceeds payload limit of "
            f"{transport} octets",
        ),
    ]


async def close_codes_for_binary_and_no_subprotocol(ws_url: str) -> list[int | None]:
    codes = []
    async with connect(ws_url, "CP1", KEY) as charger:
        await charger.ws.send(b"\x00\x01")
        with pytest.raises(websockets.ConnectionClosed) as binary:
            await asyncio.wait_for(charger.ws.recv(), 10)
    codes.append(binary.value.rcvd.code if binary.value.rcvd else None)
    async with websockets.connect(
        f"{ws_url}/ocpp/CP1",
        subprotocols=[Subprotocol("ocpp2.0.1")],
        additional_headers=basic_auth("CP1", KEY),
    ) as ws:
        with pytest.raises(websockets.ConnectionClosed) as no_subprotocol:
            await asyncio.wait_for(ws.recv(), 10)
    codes.append(no_subprotocol.value.rcvd.code if no_subprotocol.value.rcvd else None)
    return codes


@pytest.mark.django_db(transaction=True)
def test_a_live_daphne_sends_the_protocol_close_codes_the_consumer_chooses(
    charge_point: ChargePoint, tmp_path: Path
) -> None:
    """Autobahn refuses close codes below 3000 from an application; serve lets these
    through, or the close would crash the connection instead."""
    with daphne_server(tmp_path, extra_env=NO_FTP) as server:
        codes = asyncio.run(close_codes_for_binary_and_no_subprotocol(server.ws_url))
        assert eventually(lambda: len(events_of(charge_point)) == 4), server.log()
        assert "Traceback" not in server.log(), server.log()
    assert codes == [1003, 1002]
    assert [e[1] for e in events_of(charge_point) if e[0] == "closed"] == [1003, 1002]
