"""An unattended run's results as JUnit XML, the format CI servers show natively.

One ``testsuite`` per run, one ``testcase`` per plan step: a failed step carries a
``failure`` whose message is the judge's first failing finding and whose text lists every
finding; a step that was not applicable, not run or left to an engineer is ``skipped`` with
the reason; ``system-out`` holds the frames the findings cite, as they went over the wire.
Built from certification.unattended.results(), so JSON and XML never disagree.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

# Characters XML 1.0 cannot hold, even escaped: a charger's frame may carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

SKIPPED = {
    "not_applicable": "Not applicable",
    "undecided": "No judge rule: an engineer decides",
    "not_run": "Not run",
}


def junit_xml(results: dict[str, Any]) -> bytes:
    """The JUnit XML document (UTF-8) for ``results`` (unattended.results())."""
    summary = results["summary"]
    plan = f"{results['plan']['name']} (v{results['plan']['version']})"
    kind = "rehearsal" if results["rehearsal"] else "certification run"
    suite_name = f"{plan} on {results['charge_point']}"
    steps = results["steps"]
    total_time = sum(step["duration_s"] or 0 for step in steps)
    suites = ElementTree.Element(
        "testsuites",
        name=f"OCPP certification portal, {kind} {results['run']}",
        tests=str(len(steps)),
        failures=str(summary["failed"]),
        errors="0",
        time=f"{total_time:.3f}",
    )
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name=suite_name,
        tests=str(len(steps)),
        failures=str(summary["failed"]),
        errors="0",
        skipped=str(len(steps) - summary["passed"] - summary["failed"]),
        time=f"{total_time:.3f}",
        timestamp=results["started_at"] or "",
    )
    properties = ElementTree.SubElement(suite, "properties")
    for name, value in (
        ("run", results["run"]),
        ("unattended_run", results["unattended_run"]),
        ("rehearsal", str(results["rehearsal"]).lower()),
        ("strict", str(results["strict"]).lower()),
        ("firmware", results["firmware"]),
        ("timing_tolerance_s", results["timing_tolerance_s"]),
        ("status", results["status"]),
    ):
        ElementTree.SubElement(properties, "property", name=name, value=str(value))
    for step in steps:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=f"{step['profile']}",
            name=f"{step['number']:02d}. {step['title']}",
            time=f"{step['duration_s'] or 0:.3f}",
        )
        findings = step["findings"]
        outcome = step["outcome"]
        if outcome == "failed":
            failing = [f for f in findings if f["severity"] == "fail"] or [
                f for f in findings if f["severity"] == "minor"
            ]
            message = failing[0]["message"] if failing else "The judge proposed a fail"
            failure = ElementTree.SubElement(
                case, "failure", message=_xml_safe(message), type="judge"
            )
            failure.text = _xml_safe("\n".join(_finding_line(f) for f in findings + _notes(step)))
        elif outcome in SKIPPED:
            reason = "; ".join(step["notes"]) or SKIPPED[outcome]
            if outcome == "not_applicable" and findings:
                reason = findings[0]["message"]
            ElementTree.SubElement(case, "skipped", message=_xml_safe(reason))
        out = _system_out(step)
        if out:
            ElementTree.SubElement(case, "system-out").text = _xml_safe(out)
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="utf-8", xml_declaration=True)


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _notes(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"severity": "note", "message": note} for note in step["notes"]]


def _finding_line(finding: dict[str, Any]) -> str:
    cited = finding.get("frame_ids") or []
    frames = f" (frames {', '.join(str(i) for i in cited)})" if cited else ""
    return f"[{finding['severity']}] {finding['message']}{frames}"


def _system_out(step: dict[str, Any]) -> str:
    lines = [_finding_line(f) for f in step["findings"] if step["outcome"] != "failed"]
    lines += [f"[note] {note}" for note in step["notes"] if step["outcome"] == "passed"]
    lines += [
        f"{frame['at']} {'<-' if frame['direction'] == 'in' else '->'} #{frame['id']} "
        f"{frame['raw']}"
        for frame in step["cited_frames"]
    ]
    return "\n".join(lines)
