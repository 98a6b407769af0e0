"""The action-reply check that channels/resilience.py installs: as strict as Rasa's, without its cost."""

from __future__ import annotations

import copy
import time
from datetime import datetime
from typing import Any

import jsonschema
import pytest
import rasa_sdk.events as sdk
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import channels  # noqa: F401 - installs channels.resilience
from channels.resilience import ReplyValidator, validate_action_result

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


# Every event an action server can send (rasa_sdk's own constructors), and realistic responses.
EVENTS: list[dict[str, Any]] = [
    sdk.SlotSet("last_answer", {"question": "Siapa?", "passages": ["a#2"]}), sdk.SlotSet("x", None),
    sdk.AllSlotsReset(), sdk.ReminderScheduled("greet", datetime(2026, 1, 1)), sdk.ReminderCancelled("r"),
    sdk.ConversationPaused(), sdk.ConversationResumed(), sdk.Restarted(), sdk.UserUtteranceReverted(),
    sdk.ActionReverted(), sdk.StoryExported(), sdk.FollowupAction("action_listen"), sdk.SessionStarted(),
    sdk.ActionExecuted("action_answer_question", policy="RulePolicy", confidence=1.0),
    sdk.ActionExecutionRejected("action_x"), sdk.ActiveLoop("form"), sdk.Form("form"),
    sdk.LoopInterrupted(True), sdk.FormValidation(False), sdk.AgentUttered("hi"),
    sdk.BotUttered("halo", {"buttons": [{"title": "a", "payload": "b"}]}, {"answer": {"found": True}}),
    sdk.UserUttered("halo", {"intent": {"name": "greet", "confidence": 0.9}, "entities": [
        {"entity": "article", "value": "a", "start": 0, "end": 1}]}),
    {"event": "user_featurization", "use_text_for_featurization": True},
    {"event": "entities", "entities": [{"entity": "paragraph", "value": 2}]},
]
RESPONSES = [{"text": "halo", "buttons": [{"title": "👍", "payload": "/feedback"}], "custom": {}, "image": None,
              "attachment": None, "elements": [], "response": None, "answer": {"lead": "x"}},
             {"response": "utter_greet"}]


def broken_replies() -> list[Any]:
    """Each event and response broken in the ways a faulty action server could break it."""
    out: list[Any] = [None, [], "x", {"events": None}, {"events": {}}, {"responses": [1]}, {"events": [1]},
                      {"events": [{"event": "no_such_event"}]}, {"events": [{"event": 3}]}, {"events": [{}]}]
    for event in EVENTS:
        for key in event:
            if key == "event":
                continue
            dropped = {k: v for k, v in event.items() if k != key}
            out += [{"events": [dropped]}, {"events": [{**event, key: 12345}]}, {"events": [{**event, key: "s"}]},
                    {"events": [{**event, key: [None]}]}]
        out.append({"events": [{**event, "timestamp": "yesterday"}]})
        out.append({"events": [{**event, "metadata": "x"}]})
    user = copy.deepcopy(EVENTS[-3])
    user["parse_data"]["entities"][0].pop("value")
    out.append({"events": [user]})
    return out


@pytest.mark.parametrize("reply", [{"events": [e]} for e in EVENTS] + [
    {"events": EVENTS, "responses": RESPONSES}, {"responses": RESPONSES}, {}, *broken_replies()])
def test_the_per_event_check_accepts_exactly_what_rasas_schema_accepts(reply: Any) -> None:
    schema = RemoteAction.action_response_format_spec()
    rasa_accepts = jsonschema.validators.validator_for(schema)(schema).is_valid(reply)  # jsonschema.validate
    ours = ReplyValidator(schema)
    assert ours.per_event  # Rasa 3.6's schema has the shape the per-event check needs
    assert (not list(ours.iter_errors(reply))) is rasa_accepts
