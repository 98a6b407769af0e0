"""When the action server is down or slow, the bot says so (`utter_cannot_lookup`) instead of going silent.

Rasa 3.6's `MessageProcessor._run_action` catches any exception a custom
action raises, logs a traceback and carries on with no events: the user gets
an empty reply. Rasa has no hook for this. The processor is not pluggable (the
server builds its own), the action endpoint only takes a URL, and an
output-channel wrapper that guesses from an empty reply cannot tell a failure
from an action that legitimately said nothing, and would have to be repeated in
every channel.

So `install()` wraps one method, `RemoteAction.run`, the place where every
call to the action server happens, whatever channel the message came from:

- the call gets a deadline of `ACTION_TIMEOUT` seconds (default 20; Rasa's own
  is five minutes);
- if the action server cannot be reached, answers with an error, returns an
  invalid response or misses the deadline, the action returns the
  `utter_cannot_lookup` response as its only event. The processor then sends it
  through the channel the message came in on and records it in the tracker, as
  for any other reply. The error is logged on one line, without a traceback;
- `ActionExecutionRejection` (a form or validation action declining to run) is
  Rasa's own control flow and passes through untouched.

The next message calls the action server again, so answers come back as soon
as it is up.

`install()` also replaces `RemoteAction._validate_action_result`. Rasa checks
every action server reply with `jsonschema.validate`, which first checks the
schema itself against its meta-schema, on every call: 19 ms of every article
answer (`make bench`, bench/results.md). The schema never changes, so its
validator is built once; replies are still validated in full, with Rasa's own
error message. `channels/__init__.py` calls `install()`, so it is in place
whenever bot/credentials.yml loads any of our channels (REST, web, Telegram);
installing twice is a no-op.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.exceptions import RasaException

from knowledge.settings import action_timeout

logger = logging.getLogger(__name__)

CANNOT_LOOKUP = "utter_cannot_lookup"
# Used only if the domain lacks utter_cannot_lookup (say, an older model): never reply with silence.
CANNOT_LOOKUP_TEXT = "Maaf, saya sedang tidak bisa membuka artikelnya. Coba tanyakan lagi sebentar lagi."
_MARK = "_tanya_artikel_resilient"

RunMethod = Callable[..., Awaitable[list[Any]]]


async def cannot_lookup(output_channel: Any, nlg: Any, tracker: Any) -> list[Any]:
    """The `utter_cannot_lookup` response as a bot utterance event, rendered for this channel."""
    draft: dict[str, Any] | None = None
    try:
        draft = await nlg.generate(CANNOT_LOOKUP, tracker, output_channel.name())
    except Exception as exc:  # the apology must not fail too
        logger.error("Cannot render %s: %s", CANNOT_LOOKUP, exc)
    draft = dict(draft or {"text": CANNOT_LOOKUP_TEXT})
    draft["utter_action"] = CANNOT_LOOKUP
    return [create_bot_utterance(draft)]


def resilient(run: RunMethod) -> RunMethod:
    """`RemoteAction.run` with a deadline, answering `utter_cannot_lookup` when the call fails."""

    @functools.wraps(run)
    async def run_or_apologise(
        self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
    ) -> list[Any]:
        timeout = action_timeout()
        try:
            return await asyncio.wait_for(run(self, output_channel, nlg, tracker, domain), timeout)
        except ActionExecutionRejection:
            raise
        except asyncio.TimeoutError:
            logger.error("Custom action '%s' got no answer from the action server within %.0fs", self.name(), timeout)
        except RasaException as exc:  # connection refused, non-200 status, invalid response
            cause = f" ({exc.__cause__})" if exc.__cause__ else ""
            logger.error("Custom action '%s' failed: %s%s", self.name(), exc, cause)
        except Exception:
            logger.exception("Custom action '%s' failed unexpectedly", self.name())
        return await cannot_lookup(output_channel, nlg, tracker)

    setattr(run_or_apologise, _MARK, True)
    return run_or_apologise


@functools.lru_cache(maxsize=1)
def response_validator() -> Any:
    """The validator of Rasa's action response schema, with the schema itself checked once."""
    schema = RemoteAction.action_response_format_spec()
    kind = validators.validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's check of an action server reply, with the same error, without re-checking the schema."""
    error = best_match(response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            "endpoint is valid."
        )
        raise error
    return True


def install() -> None:
    """Wrap `RemoteAction.run` and speed up its reply check, once per process."""
    if getattr(RemoteAction.run, _MARK, False):
        return
    RemoteAction.run = resilient(RemoteAction.run)  # type: ignore[method-assign]
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
