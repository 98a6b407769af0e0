"""When the action server is down or slow, the bot says so (`utter_cannot_lookup`) instead of going silent.

Written for Rasa 3.6.21 (`RASA_VERSION`); tests/test_rasa_shape.py fails when the
parts of Rasa patched here change shape. This is the one module that patches Rasa.

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

A read-only action (`READ_ONLY_ACTIONS`: it changes nothing outside the events
it returns, so running it twice is harmless) whose call fails at the
connection (nothing came back: the connection was refused, reset or closed
before the reply, or a load balancer in front of the action servers answered
502/503/504) is called once more, within the same deadline, before the reader
gets the apology. Other actions are never repeated. Rasa 3.6 opens a new
connection for every action call (`EndpointConfig.request` creates a session
per call), and under load its event loop can leave that connection silent for
seconds before writing the request; an action server that closes silent
connections sooner (Sanic's keep-alive timeout, 5 s by default) closes it
first, and the call fails with "Cannot write to closing transport". The
Makefile gives the action server a longer limit than ACTION_TIMEOUT, which
removes that race; the retry covers any other action server (and a connection
an action server drops as it restarts). tests/test_action_race.py reproduces both.

`install()` also replaces `RemoteAction._validate_action_result`. Rasa checks
every action server reply with `jsonschema.validate`, which first checks the
schema itself against its meta-schema, on every call: 19 ms of every article
answer (`make bench`, bench/results.md). The schema never changes, so its
validators are built once. And each event of a reply matches `oneOf` 23 event
schemas, which jsonschema tries one by one, building an error for each that
fails (1.4 ms per answer). The event schemas differ by their `event` constant,
so at most one can match: `ReplyValidator` checks each event against the one
its `event` names, with the same result (tests/test_resilience.py compares
both on valid and broken replies) in an eighth of the time. Replies are still
validated in full, with Rasa's error message. `channels/__init__.py` calls `install()`, so it is in place
whenever bot/credentials.yml loads any of our channels (REST, web, Telegram);
installing twice is a no-op.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError

from knowledge.settings import action_timeout

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"  # the version whose internals this module patches
# Actions that only read (the article index) and change nothing outside the events they return: calling one
# twice is harmless. Each class in actions/actions.py says so with `read_only = True` (tests check both agree).
READ_ONLY_ACTIONS = frozenset({
    "action_answer_question", "action_greet", "action_help", "action_out_of_scope", "action_list_articles",
    "action_feedback",
})
RETRIES = 1  # extra calls of a read-only action after a connection failure
# A load balancer's answers when it could not get a reply from an action server.
GATEWAY_ERRORS = frozenset({502, 503, 504})

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


def connection_failure(exc: BaseException) -> str | None:
    """What went wrong if the action server's reply never arrived (so no reply was used); None otherwise.

    Rasa 3.6 turns aiohttp's connection errors into a `RasaException` raised inside the
    handler (the original is its `__context__`) and HTTP errors into one raised `from` a
    `ClientResponseError`.
    """
    for cause in (exc.__cause__, exc.__context__):
        if isinstance(cause, aiohttp.ClientConnectionError):
            return f"{type(cause).__name__}: {cause}"
        if isinstance(cause, ClientResponseError) and cause.status in GATEWAY_ERRORS:
            return f"HTTP {cause.status}"
    return None


def resilient(run: RunMethod) -> RunMethod:
    """`RemoteAction.run` with a deadline, a second call for read-only actions, and `utter_cannot_lookup`."""

    async def run_retrying(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
        retries = RETRIES if self.name() in READ_ONLY_ACTIONS else 0
        for attempt in range(retries + 1):
            try:
                return await run(self, output_channel, nlg, tracker, domain)
            except RasaException as exc:
                failure = connection_failure(exc)
                if attempt == retries or failure is None:
                    raise
                logger.warning("Custom action '%s': no reply (%s); calling it again, it is read-only",
                               self.name(), failure)
        raise AssertionError("unreachable")

    @functools.wraps(run)
    async def run_or_apologise(
        self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
    ) -> list[Any]:
        timeout = action_timeout()
        try:
            return await asyncio.wait_for(run_retrying(self, output_channel, nlg, tracker, domain), timeout)
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


class ReplyValidator:
    """Rasa's action reply schema, with each event checked against the one `oneOf` branch its type names.

    The whole reply is checked against the schema without the events' `oneOf`, the
    `event` field restricted to the branches' constants; then each event against its
    branch. This accepts exactly what `oneOf` accepts, because no two branches share a
    constant (checked here). Should a Rasa version's schema not have that shape, the
    reply is checked against the whole schema, as Rasa does.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        kind = validators.validator_for(schema)
        kind.check_schema(schema)
        self._whole = kind(schema)
        self._outer: Any = None
        self._branches: dict[str, Any] = {}
        try:
            items = schema["properties"]["events"]["items"]
            branches = items["oneOf"]
            consts = [branch["properties"]["event"]["const"] for branch in branches]
        except (KeyError, TypeError):
            return
        if len(set(consts)) != len(consts) or not all(isinstance(c, str) for c in consts):
            return
        outer_items = {key: value for key, value in items.items() if key != "oneOf"}
        outer_items["properties"] = {**items.get("properties", {}), "event": {"type": "string", "enum": consts}}
        outer = {**schema, "properties": {**schema["properties"], "events": {
            **schema["properties"]["events"], "items": outer_items}}}
        kind.check_schema(outer)
        self._outer = kind(outer)
        self._branches = {const: kind(branch) for const, branch in zip(consts, branches, strict=True)}

    @property
    def per_event(self) -> bool:
        """True if events are checked against their own branch; False if against the whole schema."""
        return self._outer is not None

    def iter_errors(self, reply: Any) -> Iterator[Any]:
        """The reply's schema violations; none for a valid reply."""
        if self._outer is None:
            yield from self._whole.iter_errors(reply)
            return
        errors = list(self._outer.iter_errors(reply))
        if errors:
            yield from errors
            return
        for event in reply.get("events") or []:
            yield from self._branches[event["event"]].iter_errors(event)


@functools.lru_cache(maxsize=1)
def response_validator() -> ReplyValidator:
    """The validator of Rasa's action response schema, built (and the schema checked) once."""
    return ReplyValidator(RemoteAction.action_response_format_spec())


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
