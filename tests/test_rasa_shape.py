"""The library code channels/resilience.py patches, or relies on, still has the shape it was written for.

Upgrading Rasa (or Sanic under rasa_sdk) makes these fail at the place that
needs a new look, instead of the patches silently doing nothing.
"""

from __future__ import annotations

import inspect

import pytest
import rasa
import sanic.config
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from sanic.server.protocols.http_protocol import HttpProtocol

import channels  # noqa: F401 - installs channels.resilience
from channels import resilience


def original_run() -> object:
    """RemoteAction.run as Rasa wrote it (the patch keeps it as __wrapped__)."""
    return inspect.unwrap(RemoteAction.run)


def test_the_patched_rasa_is_the_version_the_patches_were_written_for() -> None:
    assert rasa.__version__ == resilience.RASA_VERSION, "re-check channels/resilience.py against this Rasa"


def test_remote_action_run_is_patched_and_keeps_its_signature() -> None:
    assert RemoteAction.run is not original_run()
    assert list(inspect.signature(original_run()).parameters) == ["self", "output_channel", "nlg", "tracker",
                                                                    "domain"]
    assert RemoteAction._validate_action_result is resilience.validate_action_result
    assert isinstance(RemoteAction.action_response_format_spec(), dict)


def test_a_connection_error_reaches_the_patch_as_the_context_of_a_rasa_exception() -> None:
    """connection_failure() reads aiohttp's error from __context__, and an HTTP error from __cause__."""
    source = inspect.getsource(original_run())
    assert "await self.action_endpoint.request(" in source
    connection = source[source.index("except aiohttp.ClientConnectionError as e:"):]
    assert "raise RasaException(" in connection.split("except aiohttp.ClientError")[0]
    http = source[source.index("except ClientResponseError as e:"):]
    assert ") from e" in http.split("except aiohttp.ClientConnectionError")[0]
    assert "status" in inspect.signature(ClientResponseError).parameters


def test_every_action_call_opens_its_own_connection() -> None:
    """The race analysed in channels/resilience.py needs a fresh session (connection) per call; a pooled
    client would instead reuse idle connections, a different race with a different fix."""
    source = inspect.getsource(EndpointConfig.request)
    assert "async with self.session() as session:" in source


def test_the_action_servers_idle_limit_is_sanics_keep_alive_timeout_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The Makefile sets SANIC_KEEP_ALIVE_TIMEOUT; Sanic applies it to a new connection waiting for its request."""
    assert "stage is Stage.IDLE and duration > self.keep_alive_timeout" in inspect.getsource(
        HttpProtocol.check_timeouts)
    monkeypatch.setenv("SANIC_KEEP_ALIVE_TIMEOUT", "42")
    assert sanic.config.Config().KEEP_ALIVE_TIMEOUT == 42
