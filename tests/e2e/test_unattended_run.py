"""The whole default plan played unattended from one API call, against a live Daphne server
and the scripted charger with its test bench hook: nobody touches the charger or the cable.
Step 7's connection loss is the portal's own injected fault."""

from __future__ import annotations

import time
from typing import Any
from xml.etree import ElementTree

import pytest

from certification.models import StepResult, TestRun
from chargers.models import ChargePoint, ConnectionEvent, IdTag, InjectedFault
from chargers.simulator.bench import BenchServer
from tests.e2e.harness import ChargerThread
from tests.e2e.test_certification_run import Lab, charger_config, ensure_target_image

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def wait_for_end(lab: Lab, unattended_id: int, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = lab.api.get(f"/api/unattended-runs/{unattended_id}/")
        if state["status"] not in {"queued", "running"}:
            return state
        time.sleep(1)
    raise AssertionError(f"the unattended run did not end within {timeout} s: {state}")


def junit_of(lab: Lab, unattended_id: int) -> ElementTree.Element:
    import urllib.request

    request = urllib.request.Request(
        f"{lab.server.http_url}/api/unattended-runs/{unattended_id}/junit.xml",
        headers={"Authorization": f"Token {lab.api.token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("application/xml")
        return ElementTree.fromstring(response.read())


def test_the_whole_default_plan_runs_unattended_from_one_api_call(lab: Lab) -> None:
    charger = ChargerThread(charger_config(lab))
    bench = BenchServer(charger.charger, charger.loop).start()
    ChargePoint.objects.filter(pk=lab.charge_point_id).update(bench_url=bench.url)
    # The plan's remote start presents the lab's own card, which the lab registers.
    IdTag.objects.create(charge_point_id=lab.charge_point_id, id_tag="CERT-TAG-1")
    try:
        charger.do(charger.charger.connect())
        run_id_before = set(TestRun.objects.values_list("pk", flat=True))
        # Step 19 installs an image the lab uploaded before the run.
        started = lab.api.post(
            "/api/unattended-runs/",
            {
                "charge_point": lab.charge_point_id,
                "firmware_version": lab.firmware_id,
                "plan": lab.plan_id,
            },
        )
        assert started["status"] == "queued" and started["rehearsal"] is False
        ensure_target_image(lab)
        final = wait_for_end(lab, started["id"])
    finally:
        bench.close()
        charger.stop()
    assert set(TestRun.objects.values_list("pk", flat=True)) - run_id_before == {started["run"]}
    results = lab.api.get(f"/api/unattended-runs/{started['id']}/results/")
    outcomes = {s["number"]: s["outcome"] for s in results["steps"]}
    explain = "\n".join(
        f"{s['number']}: {s['outcome']} {s['notes']} "
        + "; ".join(f"[{f['severity']}] {f['message']}" for f in s["findings"])
        for s in results["steps"]
    )
    assert final["status"] == "passed", explain
    assert outcomes == {n: "passed" for n in range(1, 24)} | {15: "not_applicable"}, explain

    # JUnit: one testcase per step, a CI server shows them natively.
    suite = junit_of(lab, started["id"])
    cases = suite.findall("./testsuite/testcase")
    assert len(cases) == 23
    assert cases[6].get("name") == (
        "07. Charging Session - Local - Identification first - Connection Loss"
    )
    assert [str(c.get("name"))[:2] for c in cases if c.find("skipped") is not None] == ["15"]
    assert suite.find("./testsuite") is not None
    assert suite.findall("./testsuite")[0].get("failures") == "0"

    # Step 7: the portal cut the connection itself and refused the reconnects.
    step7 = StepResult.objects.get(run_id=started["run"], step__number=7)
    fault = InjectedFault.objects.get(step_result=step7)
    assert fault.kind == "disconnect" and fault.seconds == 15
    events = ConnectionEvent.objects.filter(step_result=step7).order_by("at")
    closed = [e for e in events if e.kind == "closed"]
    assert len(closed) == 1 and f"injected fault #{fault.pk}" in closed[0].detail, [
        (e.kind, e.close_code, e.detail) for e in events
    ]
    assert closed[0].close_code == 4002
    refused = [e for e in events if e.kind == "refused"]
    assert refused and all("refused on purpose" in e.detail for e in refused)
    assert step7.measurements["gap_s"] >= 15
    assert step7.measurements["queued_meter_values"] >= 1
    assert step7.measurements["stopped_offline"] is True
    # The bench, not a person, did the manual actions.
    actions = [p["action"] for p in bench.performed]
    assert actions[0] == "power_cycle" and "raise_fault" in actions
