"""Timing around injected faults, on plain frames: reconnect back-off while refused, the replay
of queued messages, and retries of transaction messages answered with a CALLERROR, each
within the run's tolerance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from certification.judge.sessions import local_id_first_connection_loss
from certification.judge.timing import transaction_message_retry
from certification.judge.types import Finding, RunSettings
from tests.judge.frames import Wire, stamp


def offline_session(
    wire: Wire,
    *,
    refused_at: tuple[float, ...] = (1, 2, 4, 8),
    back_after: float = 16,
    sample_every: float = 5,
    queued_transaction_id: Any = 42,
    stamp_when_sent: bool = False,
) -> None:
    """Step 7 as an unattended run plays it: the portal cuts the connection during the session
    and refuses reconnects for 15 s; the charger queues a MeterValues every 5 s."""
    wire.command(
        "ChangeConfiguration",
        {"key": "MeterValueSampleInterval", "value": "5"},
        {"status": "Accepted"},
    )
    wire.authorize()
    wire.status(1, "Preparing")
    wire.start_transaction(transaction_id=42)
    wire.status(1, "Charging")
    wire.wait(2)
    lost = wire.now
    wire.fault("disconnect", seconds=15.0)
    wire.event("closed")
    for at in refused_at:
        wire.now = lost + timedelta(seconds=at)
        wire.event("refused")
    wire.now = lost + timedelta(seconds=back_after)
    wire.event("connected")
    sampled = [lost + timedelta(seconds=sample_every * n) for n in (1, 2, 3)]
    for moment in sampled:
        when = wire.now if stamp_when_sent else moment
        payload: dict[str, Any] = {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": stamp(when),
                    "sampledValue": [{"value": "1000", "context": "Sample.Periodic"}],
                }
            ],
        }
        if queued_transaction_id is not None:
            payload["transactionId"] = queued_transaction_id
        wire.request("MeterValues", payload, {})
        wire.wait(0.1)


def test_reconnect_attempts_and_their_intervals_are_measured() -> None:
    wire = Wire()
    offline_session(wire)

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.verdict == "Y", judgement.findings
    m = judgement.measurements
    assert m["reconnect_attempts"] == 5
    assert m["reconnect_intervals_s"] == [1.0, 1.0, 2.0, 4.0, 8.0]
    assert m["back_after_refusal_s"] == 1.0
    assert m["queued_sample_intervals_s"] == [5.0, 5.0]
    assert any("Reconnect attempts" in f.message for f in judgement.findings)
    assert judgement.findings == (
        Finding(
            severity="info",
            message="Reconnect attempts after the injected disconnect: 5, at intervals of 1 "
            "s, 1 s, 2 s, 4 s, 8 s; back 1 s after the refusal ended",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        "transaction_id": 42,
        "connector_id": 1,
        "id_tag": "CARD-1",
        "authorized_by": "Central System (Authorize)",
        "gap_s": 16.0,
        "connection_lost_at": "2023-09-22T10:00:02+00:00",
        "reconnected_at": "2023-09-22T10:00:18+00:00",
        "queued_meter_values": 3,
        "new_meter_values": 0,
        "stopped_offline": False,
        "queued_sample_times": [
            "2023-09-22T10:00:07+00:00",
            "2023-09-22T10:00:12+00:00",
            "2023-09-22T10:00:17+00:00",
        ],
        "queued_sample_intervals_s": [5.0, 5.0],
        "reconnect_attempts": 5,
        "reconnect_intervals_s": [1.0, 1.0, 2.0, 4.0, 8.0],
        "refused_for_s": 15.0,
        "back_after_refusal_s": 1.0,
    }


def test_a_charger_that_never_comes_back_fails() -> None:
    wire = Wire()
    offline_session(wire)
    wire.events.pop()  # no "connected" after the refusal window
    wire.frames = [f for f in wire.frames if f.action != "MeterValues"]
    wire.wait(60)
    wire.event("refused")  # recorded in the window? no: 60 s later, after it ended

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No connection loss in the evidence: no closed connection after "
            "StartTransaction and no silence of 15 s or more",
            frame_ids=(7,),
        ),
    )
    assert judgement.measurements == {
        "transaction_id": 42,
        "connector_id": 1,
        "id_tag": "CARD-1",
        "authorized_by": "Central System (Authorize)",
    }


def test_queued_values_with_another_transaction_id_fail_and_without_one_are_minor() -> None:
    other = Wire()
    offline_session(other, queued_transaction_id=7)
    missing = Wire()
    offline_session(missing, queued_transaction_id=None)

    wrong = local_id_first_connection_loss(other.context())
    absent = local_id_first_connection_loss(missing.context())

    assert wrong.verdict == "N"
    assert any(
        "transactionId 7 where the session's transaction is 42" in f.message for f in wrong.findings
    )
    assert [f.severity for f in absent.findings if "without a transactionId" in f.message] == [
        "minor"
    ] * 3


@pytest.mark.parametrize(
    ("every", "tolerance", "minor"), [(5, 4.0, False), (11, 4.0, True), (11, 7.0, False)]
)
def test_queued_samples_are_sample_interval_apart_within_the_runs_tolerance(
    every: float, tolerance: float, minor: bool
) -> None:
    wire = Wire()
    offline_session(wire, sample_every=every, back_after=40, refused_at=(1, 2, 4, 8, 16))

    judgement = local_id_first_connection_loss(
        wire.context(RunSettings(timing_tolerance_s=tolerance))
    )

    flagged = [f for f in judgement.findings if "sampled" in f.message and "apart" in f.message]
    assert bool(flagged) is minor, judgement.findings


def retried_stop(wire: Wire, delays: list[float], accepted_at: int | None) -> None:
    """StopTransaction answered with an injected InternalError, resent after `delays`."""
    payload = {
        "transactionId": 42,
        "meterStop": 1500,
        "timestamp": stamp(wire.now),
        "reason": "Local",
    }
    wire.fault("call_error", action="StopTransaction", error_code="InternalError", times=3)
    for transmission in range(1, len(delays) + 2):
        call = wire.call_in("StopTransaction", payload)
        if transmission == accepted_at:
            wire.result_out(call, {"idTagInfo": {"status": "Accepted"}})
        else:
            wire.error_out(call, "InternalError")
        if transmission <= len(delays):
            wire.wait(delays[transmission - 1])


def configured(wire: Wire, attempts: int, interval: int) -> None:
    for key, value in (
        ("TransactionMessageAttempts", attempts),
        ("TransactionMessageRetryInterval", interval),
    ):
        wire.command(
            "ChangeConfiguration", {"key": key, "value": str(value)}, {"status": "Accepted"}
        )


def test_stop_transaction_retried_as_the_configuration_says_passes() -> None:
    wire = Wire()
    configured(wire, attempts=3, interval=10)
    retried_stop(wire, [10, 20], accepted_at=None)

    judgement = transaction_message_retry(wire.context())

    assert judgement.verdict == "Y", judgement.findings
    message = judgement.measurements["messages"][0]
    assert message["transmissions"] == 3
    assert message["retry_intervals_s"] == [10.0, 20.0]
    assert message["expected_retry_intervals_s"] == [10.0, 20.0]
    assert judgement.findings == ()
    assert judgement.measurements == {
        "transaction_message_attempts": 3,
        "transaction_message_retry_interval_s": 10,
        "tolerance_s": 4.0,
        "messages": [
            {
                "action": "StopTransaction",
                "transmissions": 3,
                "accepted_at_transmission": None,
                "retry_intervals_s": [10.0, 20.0],
                "expected_retry_intervals_s": [10.0, 20.0],
            }
        ],
    }


def test_a_retry_outside_the_tolerance_fails_naming_the_expected_wait() -> None:
    wire = Wire()
    configured(wire, attempts=3, interval=10)
    retried_stop(wire, [10, 10], accepted_at=None)

    judgement = transaction_message_retry(wire.context())

    assert judgement.verdict == "N"
    assert any(
        "retry 2 came 10 s after the previous transmission where TransactionMessageRetryInterval"
        " x 2 = 20 s (tolerance 4 s)" in f.message
        for f in judgement.findings
    ), judgement.findings
    # A lab with a wider tolerance accepts it.
    lenient = transaction_message_retry(wire.context(RunSettings(timing_tolerance_s=11)))
    assert lenient.verdict == "Y"


def test_too_many_or_too_few_transmissions_fail() -> None:
    extra = Wire()
    configured(extra, attempts=2, interval=10)
    retried_stop(extra, [10, 20], accepted_at=None)
    gave_up = Wire()
    configured(gave_up, attempts=3, interval=10)
    retried_stop(gave_up, [10], accepted_at=None)

    assert "sent 3 times where TransactionMessageAttempts is 2" in " ".join(
        f.message for f in transaction_message_retry(extra.context()).findings
    )
    assert "given up while TransactionMessageAttempts is 3" in " ".join(
        f.message for f in transaction_message_retry(gave_up.context()).findings
    )


def test_a_retry_accepted_before_the_last_attempt_passes() -> None:
    wire = Wire()
    configured(wire, attempts=3, interval=10)
    retried_stop(wire, [10], accepted_at=2)

    judgement = transaction_message_retry(wire.context())

    assert judgement.verdict == "Y", judgement.findings
    assert judgement.measurements["messages"][0]["accepted_at_transmission"] == 2
    assert judgement.findings == ()
    assert judgement.measurements == {
        "transaction_message_attempts": 3,
        "transaction_message_retry_interval_s": 10,
        "tolerance_s": 4.0,
        "messages": [
            {
                "action": "StopTransaction",
                "transmissions": 2,
                "accepted_at_transmission": 2,
                "retry_intervals_s": [10.0],
                "expected_retry_intervals_s": [10.0],
            }
        ],
    }


def test_no_callerror_in_the_step_says_what_to_inject() -> None:
    wire = Wire()
    wire.stop_transaction()

    judgement = transaction_message_retry(wire.context())

    assert judgement.verdict == "N"
    assert "inject a call_error fault" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No transaction message was answered with a CALLERROR in the step: "
            "inject a call_error fault on StopTransaction (or StartTransaction, "
            "MeterValues) first",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        "transaction_message_attempts": None,
        "transaction_message_retry_interval_s": None,
        "tolerance_s": 4.0,
        "messages": [],
    }


@pytest.mark.parametrize(
    ("delays", "passes"),
    [
        ([10, 20], True),  # exactly as configured
        ([12, 17], True),  # inside the 4 s tolerance
        ([14, 16], True),  # at it, on both sides
        ([14.5, 20], False),  # just outside
        ([10, 24.5], False),
    ],
)
def test_retry_intervals_are_judged_against_the_run_tolerance(
    delays: list[float], passes: bool
) -> None:
    wire = Wire()
    configured(wire, attempts=3, interval=10)
    retried_stop(wire, delays, accepted_at=None)

    judgement = transaction_message_retry(wire.context(RunSettings(timing_tolerance_s=4)))

    assert (judgement.verdict == "Y") is passes, judgement.findings
    assert judgement.measurements["messages"][0]["retry_intervals_s"] == delays


def test_a_charger_resending_at_once_fails_on_every_retry() -> None:
    wire = Wire()
    configured(wire, attempts=3, interval=10)
    retried_stop(wire, [0.5, 1], accepted_at=None)

    judgement = transaction_message_retry(wire.context())

    assert judgement.verdict == "N"
    timing = [
        f.message for f in judgement.findings if "after the previous transmission" in f.message
    ]
    assert len(timing) == 2, judgement.findings
    assert "retry 1 came 0.5 s" in timing[0] and "x 1 = 10 s" in timing[0]
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StopTransaction (transactionId 42): retry 1 came 0.5 s after the "
            "previous transmission where TransactionMessageRetryInterval x 1 = 10 s "
            "(tolerance 4 s)",
            frame_ids=(6, 8),
        ),
        Finding(
            severity="fail",
            message="StopTransaction (transactionId 42): retry 2 came 1 s after the "
            "previous transmission where TransactionMessageRetryInterval x 2 = 20 s "
            "(tolerance 4 s)",
            frame_ids=(8, 10),
        ),
    )
    assert judgement.measurements == {
        "transaction_message_attempts": 3,
        "transaction_message_retry_interval_s": 10,
        "tolerance_s": 4.0,
        "messages": [
            {
                "action": "StopTransaction",
                "transmissions": 3,
                "accepted_at_transmission": None,
                "retry_intervals_s": [0.5, 1.0],
                "expected_retry_intervals_s": [10.0, 20.0],
            }
        ],
    }


def test_a_refused_stop_never_resent_fails() -> None:
    wire = Wire()
    configured(wire, attempts=3, interval=10)
    retried_stop(wire, [], accepted_at=None)

    judgement = transaction_message_retry(wire.context())

    assert judgement.verdict == "N"
    assert "answered with a CALLERROR was never resent" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StopTransaction (transactionId 42) answered with a CALLERROR was never resent",
            frame_ids=(6,),
        ),
    )
    assert judgement.measurements == {
        "transaction_message_attempts": 3,
        "transaction_message_retry_interval_s": 10,
        "tolerance_s": 4.0,
        "messages": [
            {
                "action": "StopTransaction",
                "transmissions": 1,
                "accepted_at_transmission": None,
                "retry_intervals_s": [],
                "expected_retry_intervals_s": [],
            }
        ],
    }
