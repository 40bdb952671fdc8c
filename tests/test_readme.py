"""The README's shell examples run as written against a live portal, so that they cannot
drift (issue 12, item 8): the scripted charger of "A first run" and the automation API
example, whose ids come from the answers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import demo_logins, portal  # noqa: F401  (fixtures)
from tests.live import LiveServer, eventually

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def shell_block(after_heading: str) -> str:
    """The first ```sh block after a heading of the README."""
    section = README.split(after_heading, 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def answers(text: str) -> list[dict]:
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


def as_run_here(script: str, server: LiveServer) -> str:
    return (
        script.replace(".venv/bin/python", sys.executable)
        .replace("http://127.0.0.1:8000", server.http_url)
        .replace("ws://127.0.0.1:8000", server.ws_url)
    )


@pytest.mark.django_db(transaction=True)
def test_the_readmes_first_run_and_api_example_run_as_written(
    portal: LiveServer,  # noqa: F811
    demo_logins: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DATABASE_NAME": str(__import__("django.db").db.connection.settings_dict["NAME"]),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    first_run = as_run_here(shell_block("## A first run"), portal).strip()
    add, simulate = first_run.split("\n" + sys.executable + " manage.py simulate_charger")
    subprocess.run(["bash", "-euc", add], cwd=ROOT, env=env, check=True, capture_output=True)
    log = (tmp_path / "simulator.log").open("wb")
    charger = subprocess.Popen(
        ["bash", "-euc", f"exec {sys.executable} manage.py simulate_charger{simulate}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        from chargers.models import Connection

        assert eventually(
            lambda: Connection.objects.filter(
                charge_point__charge_point_id="DEMO1", closed_at__isnull=True
            ).exists(),
            timeout=30,
        ), (tmp_path / "simulator.log").read_text()
        api = as_run_here(shell_block("## Automation API"), portal)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", api],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        report = answers(done.stdout)[-1]  # curl writes the answers one after another
        step_2 = next(s for s in report["steps"] if s["number"] == 2)
        assert step_2["final_verdict"] == step_2["proposed_verdict"] == "Y", done.stdout
        assert report["charge_point"]["id"] == "DEMO1"
        assert report["charge_point"]["vendor"] == "Xcharge"  # the identity the run pins
    finally:
        charger.terminate()
        charger.wait(10)
        log.close()
