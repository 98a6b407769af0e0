"""The small version of `make load`: 5 readers x 5 messages at once, then the tracker store is checked.

It asserts what must hold under any load: no error and no lost or reordered
message. Timing is printed by `make load`, never asserted. The same run against
the two-server production cluster is in tests/test_production.py.
"""

from __future__ import annotations

import asyncio

import pytest
from load import check_tracker, run_load, tracker_url_from
from serve import Servers

from knowledge.settings import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_five_readers_at_once_lose_nothing(servers: Servers) -> None:
    result, scripts = asyncio.run(run_load([servers.rasa_url], senders=5, messages=5, max_seconds=300))
    check_tracker(tracker_url_from(ROOT / "bot" / "endpoints.yml"), scripts, result)
    summary = result.summary()
    print(summary)
    assert summary["errors"] == 0, summary["error_kinds"]
    assert summary["lost"] == 0, result.loss_examples
    assert summary["answered"] == 25
