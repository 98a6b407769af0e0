"""Bench-only variant of the Rasa server: `jsonschema.validate` checks each distinct schema once.

Rasa 3.6 validates every action server reply with `jsonschema.validate(reply,
RemoteAction.action_response_format_spec())`, and `validate` first checks the
schema itself against its meta-schema, on every call. That check is most of the
cost, and the schema never changes. Here the validator is built and the schema
checked once per distinct schema; the reply is still validated in full, with
the same error as before. `make bench` starts one Rasa server with this
folder on PYTHONPATH to measure what the change buys; the product fix belongs
where the project already wraps `RemoteAction` (channels/resilience.py).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from jsonschema import exceptions, validators

_validators: dict[tuple[str, Any], Any] = {}
_original = jsonschema.validate


def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """`jsonschema.validate`, with the schema check and the validator kept per schema."""
    if args or kwargs:
        _original(instance, schema, cls, *args, **kwargs)
        return
    key = (json.dumps(schema, sort_keys=True, default=str), cls)
    validator = _validators.get(key)
    if validator is None:
        kind = cls or validators.validator_for(schema)
        kind.check_schema(schema)
        validator = _validators[key] = kind(schema)
    error = exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


jsonschema.validate = validate
