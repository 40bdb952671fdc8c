"""A small builder of recorded frames, so each judge test reads like the plan's sequence.

`Wire` keeps a clock you advance with `wait`, and numbers frames (id and seq) as they are
captured. Incoming calls are answered by the portal, outgoing commands by the charger, in the
same breath unless a test needs to leave the reply out or put something between.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from certification.judge.types import (
    CALL,
    CALLERROR,
    CALLRESULT,
    ConnectionEvent,
    Direction,
    Frame,
    InjectedFault,
    RunSettings,
    StepContext,
)

START = datetime(2023, 9, 22, 10, 0, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Wire:
    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self.frames: list[Frame] = []
        self.events: list[ConnectionEvent] = []
        self.faults: list[InjectedFault] = []
        self._counter = 0

    def wait(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _frame(
        self,
        direction: Direction,
        message_type: int | None,
        unique_id: str | None,
        action: str | None,
        payload: dict[str, Any] | None,
        validation_error: str | None = None,
    ) -> Frame:
        number = self._next()
        frame = Frame(
            id=number,
            seq=number,
            at=self.now,
            direction=direction,
            message_type=message_type,
            unique_id=unique_id,
            action=action,
            payload=payload,
            validation_error=validation_error,
        )
        self.frames.append(frame)
        return frame

    # Raw frames ----------------------------------------------------------------------------

    def call_in(
        self, action: str, payload: dict[str, Any], validation_error: str | None = None
    ) -> Frame:
        """A CALL from the charger."""
        return self._frame("in", CALL, f"cp-{self._counter + 1}", action, payload, validation_error)

    def call_out(self, action: str, payload: dict[str, Any]) -> Frame:
        """A CALL from the portal to the charger."""
        return self._frame("out", CALL, f"cs-{self._counter + 1}", action, payload)

    def result_out(self, call: Frame, payload: dict[str, Any]) -> Frame:
        """The portal's CALLRESULT to a charger's CALL."""
        return self._frame("out", CALLRESULT, call.unique_id, call.action, payload)

    def result_in(
        self, call: Frame, payload: dict[str, Any], validation_error: str | None = None
    ) -> Frame:
        """The charger's CALLRESULT to a portal command."""
        return self._frame("in", CALLRESULT, call.unique_id, call.action, payload, validation_error)

    def error_in(self, call: Frame, code: str, description: str = "") -> Frame:
        """The charger's CALLERROR to a portal command."""
        payload = {"errorCode": code, "errorDescription": description, "errorDetails": {}}
        return self._frame("in", CALLERROR, call.unique_id, call.action, payload)

    def error_out(self, call: Frame, code: str, description: str = "") -> Frame:
        """The portal's CALLERROR to a charger's CALL (an injected fault)."""
        payload = {"errorCode": code, "errorDescription": description, "errorDetails": {}}
        return self._frame("out", CALLERROR, call.unique_id, call.action, payload)

    def fault(self, kind: str, **fields: Any) -> InjectedFault:
        """A fault the portal injects now (it ends with ``ended_at`` when given)."""
        fault = InjectedFault(id=self._next(), kind=kind, started_at=self.now, **fields)  # type: ignore[arg-type]
        self.faults.append(fault)
        return fault

    def garbage_in(self, error: str) -> Frame:
        return self._frame("in", None, None, None, None, error)

    def event(self, kind: Literal["connected", "refused", "closed", "replaced"]) -> None:
        self.events.append(ConnectionEvent(id=self._next(), at=self.now, kind=kind))

    # Messages with their replies ---------------------------------------------------------

    def request(self, action: str, payload: dict[str, Any], reply: dict[str, Any]) -> Frame:
        """A charger CALL answered at once by the portal; returns the CALL."""
        call = self.call_in(action, payload)
        self.result_out(call, reply)
        return call

    def command(self, action: str, payload: dict[str, Any], reply: dict[str, Any]) -> Frame:
        """A portal command answered at once by the charger; returns the CALL."""
        call = self.call_out(action, payload)
        self.result_in(call, reply)
        return call

    def boot(
        self, firmware: str = "V1.0.0", status: str = "Accepted", interval: int = 300
    ) -> Frame:
        return self.request(
            "BootNotification",
            {
                "chargePointVendor": "Xcharge",
                "chargePointModel": "C8EU",
                "chargePointSerialNumber": "XC-0001",
                "firmwareVersion": firmware,
            },
            {"status": status, "currentTime": stamp(self.now), "interval": interval},
        )

    def status(self, connector: int, status: str, error_code: str = "NoError") -> Frame:
        return self.request(
            "StatusNotification",
            {"connectorId": connector, "errorCode": error_code, "status": status},
            {},
        )

    def heartbeat(self) -> Frame:
        return self.request("Heartbeat", {}, {"currentTime": stamp(self.now)})

    def authorize(self, id_tag: str = "CARD-1", status: str = "Accepted") -> Frame:
        return self.request("Authorize", {"idTag": id_tag}, {"idTagInfo": {"status": status}})

    def start_transaction(
        self, connector: int = 1, id_tag: str = "CARD-1", transaction_id: int = 42
    ) -> Frame:
        return self.request(
            "StartTransaction",
            {
                "connectorId": connector,
                "idTag": id_tag,
                "meterStart": 1000,
                "timestamp": stamp(self.now),
            },
            {"transactionId": transaction_id, "idTagInfo": {"status": "Accepted"}},
        )

    def stop_transaction(
        self,
        transaction_id: int = 42,
        reason: str | None = "Local",
        timestamp: datetime | None = None,
    ) -> Frame:
        payload: dict[str, Any] = {
            "transactionId": transaction_id,
            "meterStop": 2500,
            "timestamp": stamp(timestamp or self.now),
            "idTag": "CARD-1",
        }
        if reason is not None:
            payload["reason"] = reason
        return self.request("StopTransaction", payload, {"idTagInfo": {"status": "Accepted"}})

    def meter_values(
        self, connector: int = 1, transaction_id: int = 42, sampled: datetime | None = None
    ) -> Frame:
        return self.request(
            "MeterValues",
            {
                "connectorId": connector,
                "transactionId": transaction_id,
                "meterValue": [
                    {
                        "timestamp": stamp(sampled or self.now),
                        "sampledValue": [{"value": "1500"}],
                    }
                ],
            },
            {},
        )

    def firmware_status(self, status: str) -> Frame:
        return self.request("FirmwareStatusNotification", {"status": status}, {})

    def diagnostics_status(self, status: str) -> Frame:
        return self.request("DiagnosticsStatusNotification", {"status": status}, {})

    def start_card_first(self) -> None:
        """A session on connector 1 started card first: Authorize, StatusNotification
        Preparing, StartTransaction (transaction 42), StatusNotification Charging."""
        self.authorize()
        self.status(1, "Preparing")
        self.start_transaction()
        self.status(1, "Charging")

    def ids(self, action: str, direction: Direction = "in") -> list[int]:
        """The ids of the CALLs of `action` (from the charger unless `direction` "out"), in
        capture order: the frames a finding cites."""
        return [
            frame.id or 0
            for frame in self.frames
            if (frame.action, frame.direction, frame.message_type) == (action, direction, CALL)
        ]

    def exchange_ids(self, call: Frame) -> tuple[int, ...]:
        """The ids of `call` and of its reply, when one was recorded: what a finding about
        an answer cites."""
        return tuple(frame.id or 0 for frame in self.frames if frame.unique_id == call.unique_id)

    def context(
        self,
        settings: RunSettings | None = None,
        *,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        **params: Any,
    ) -> StepContext:
        return StepContext(
            frames=tuple(self.frames),
            events=tuple(self.events),
            faults=tuple(self.faults),
            settings=settings or RunSettings(),
            params=params,
            started_at=started_at,
            finished_at=finished_at,
        )


def cited(*frames: Frame) -> tuple[int, ...]:
    """The ids a finding citing `frames` carries."""
    return tuple(frame.id or 0 for frame in frames)


def empty_step() -> StepContext:
    return StepContext(frames=())


def absolute_profile(
    purpose: str,
    profile_id: int,
    stack: int,
    periods: list[tuple[float, float]],
    duration: float | None = None,
    *,
    unit: str = "W",
    phases: int | None = None,
    **validity: str,
) -> dict[str, Any]:
    """An Absolute ChargingProfile starting at START: `periods` as (startPeriod, limit), in
    `unit` on `phases` (numberPhases left out when None), validFrom/validTo in `validity`."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": unit,
        "startSchedule": stamp(START),
        "chargingSchedulePeriod": [
            {"startPeriod": s, "limit": limit, **({"numberPhases": phases} if phases else {})}
            for s, limit in periods
        ],
    }
    if duration is not None:
        schedule["duration"] = duration
    return {
        "chargingProfileId": profile_id,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": schedule,
        **validity,
    }
