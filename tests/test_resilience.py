"""The action-reply check that channels/resilience.py installs: as strict as Rasa's, without its cost."""

from __future__ import annotations

import time

import jsonschema
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import channels  # noqa: F401 - installs channels.resilience
from channels.resilience import validate_action_result

GOOD = {"events": [{"event": "slot", "name": "last_question", "value": "x"}],
        "responses": [{"text": "halo", "buttons": [{"title": "👍", "payload": "/feedback{\"rating\": \"up\"}"}]}]}


def test_it_is_the_check_rasa_runs() -> None:
    assert RemoteAction._validate_action_result is validate_action_result


@pytest.mark.parametrize("bad", [
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": "x"},
])
def test_a_malformed_reply_is_refused_as_rasa_refuses_it(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as ours:
        validate_action_result(None, bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as rasas:
        jsonschema.validate(bad, RemoteAction.action_response_format_spec())
    assert ours.value.message.startswith(rasas.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_a_good_reply_passes_and_the_schema_is_not_checked_again() -> None:
    assert validate_action_result(None, GOOD) is True  # type: ignore[arg-type]
    started = time.perf_counter()
    for _ in range(200):
        validate_action_result(None, GOOD)  # type: ignore[arg-type]
    ours = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(200):
        jsonschema.validate(GOOD, RemoteAction.action_response_format_spec())
    print(f"200 checks: {1000 * ours:.0f} ms here, {1000 * (time.perf_counter() - started):.0f} ms with jsonschema")
