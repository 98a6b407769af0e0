"""Telegram without a public URL: long-poll getUpdates and post every update to the local webhook.

For development. The Rasa server (`make run`, started with TELEGRAM_TOKEN and
*without* TELEGRAM_WEBHOOK_URL) must be running; this loop

1. waits until the Rasa server's Telegram channel answers (GET /webhooks/telegram/),
2. calls deleteWebhook once (Telegram refuses getUpdates while a webhook is set),
3. calls getUpdates with an offset and a long-poll timeout, against TELEGRAM_API_BASE,
4. POSTs each update to http://127.0.0.1:RASA_PORT/webhooks/telegram/webhook with the
   X-Telegram-Bot-Api-Secret-Token header, exactly as Telegram would, so the very same
   connector code (channels/telegram.py) checks, parses and answers it.

An update is confirmed (the offset moves past it) once the webhook has taken it.
Network errors are retried with a growing pause, at most --max-failures times in
a row; a refused secret (403) or a switched-off channel (503) stops at once, since
retrying cannot help. Ctrl-C stops cleanly, confirming what was already forwarded.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import logging
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from knowledge.settings import TelegramSettings  # noqa: E402

logger = logging.getLogger("telegram_polling")

# Copies of channels/telegram.py's, so this script starts in a blink instead of importing Rasa and
# TensorFlow; tests/test_telegram.py checks that they agree.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")


def webhook_secret(settings: TelegramSettings) -> str:
    """The secret the webhook expects: channels.telegram.webhook_secret, repeated."""
    if settings.secret_token:
        return settings.secret_token
    key = (settings.token or "").encode()
    return hmac.new(key, b"tanya-artikel telegram webhook", hashlib.sha256).hexdigest()


class PollingError(RuntimeError):
    """Something retrying cannot fix; the message says what to change."""


class BotApiError(RuntimeError):
    """The Bot API answered ok=false (or not JSON)."""

    def __init__(self, method: str, code: int, description: str) -> None:
        super().__init__(f"{method}: {code} {description}")
        self.code = code


class Poller:
    """getUpdates -> local webhook, one update at a time, in order."""

    def __init__(
        self, settings: TelegramSettings, rasa_url: str, poll_timeout: int = 30, max_failures: int = 5,
        backoff: float = 1.0,
    ) -> None:
        if not settings.token:
            raise PollingError("TELEGRAM_TOKEN is not set; polling needs the bot's token")
        self.settings = settings
        self.rasa_url = rasa_url.rstrip("/")
        self.webhook_url = self.rasa_url + "/webhooks/telegram/webhook"
        self.poll_timeout = poll_timeout
        self.max_failures = max_failures
        self.backoff = backoff
        self.offset: int | None = None
        self._confirmed: int | None = None  # the offset Telegram last saw
        self.forwarded = 0

    # --- the Bot API ---------------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any], timeout: float) -> Any:
        """One Bot API call with a JSON body; its `result`, or BotApiError."""
        url = f"{self.settings.api_base}/bot{self.settings.token}/{method}"
        req = urllib.request.Request(
            url, data=json.dumps(params).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                answer = json.loads(body)
            except ValueError:
                raise BotApiError(method, exc.code, body[:200].decode(errors="replace")) from None
            raise BotApiError(method, exc.code, str(answer.get("description", ""))) from None
        answer = json.loads(body)
        if not answer.get("ok"):
            raise BotApiError(method, int(answer.get("error_code") or 0), str(answer.get("description", "")))
        return answer.get("result")

    def get_updates(self) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"timeout": self.poll_timeout, "allowed_updates": list(ALLOWED_UPDATES)}
        if self.offset is not None:
            params["offset"] = self.offset
        result = self.call("getUpdates", params, timeout=self.poll_timeout + 10)
        self._confirmed = self.offset
        return [u for u in result or [] if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    # --- the local webhook ---------------------------------------------------------------------------

    def wait_for_rasa(self, timeout: float) -> None:
        """Until GET /webhooks/telegram/ says the channel is on; PollingError if it is off or never answers."""
        deadline = time.monotonic() + timeout
        url = self.rasa_url + "/webhooks/telegram/"
        announced = False
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    status = json.loads(resp.read()).get("status")
                if status == "ok":
                    return
                raise PollingError(f"the Rasa server's Telegram channel is {status!r} (see its log)")
            except urllib.error.HTTPError as exc:
                if exc.code == 503:
                    raise PollingError(
                        "the Rasa server's Telegram channel is off: start `make run` with TELEGRAM_TOKEN set"
                    ) from None
                raise PollingError(f"GET {url} answered {exc.code}") from None
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise PollingError(
                        f"no Rasa server at {self.rasa_url}; run `make run` (with TELEGRAM_TOKEN) in another terminal"
                    ) from None
                if not announced:
                    logger.info("Waiting for the Rasa server at %s (start it with `make run`) ...", self.rasa_url)
                    announced = True
                time.sleep(1)

    def forward(self, update: dict[str, Any]) -> int:
        """POST one update to the webhook as Telegram does; the HTTP status (URLError when unreachable)."""
        req = urllib.request.Request(
            self.webhook_url, data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", SECRET_HEADER: webhook_secret(self.settings)},
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    # --- the loop ------------------------------------------------------------------------------------

    def run(self, max_iterations: int | None = None, wait_for_rasa: float = 300) -> None:
        """Poll until Ctrl-C (or `max_iterations` getUpdates calls); PollingError when it must give up."""
        self.wait_for_rasa(wait_for_rasa)
        self._retrying(lambda: self.call("deleteWebhook", {"drop_pending_updates": False}, timeout=30))
        logger.info("Polling Telegram for updates; forwarding them to %s. Ctrl-C stops.", self.webhook_url)
        iterations = 0
        try:
            while max_iterations is None or iterations < max_iterations:
                iterations += 1
                for update in self._retrying(self.get_updates):
                    self._retrying(lambda u=update: self._deliver(u))  # type: ignore[misc]
                    self.offset = update["update_id"] + 1
        finally:
            self.confirm()

    def _deliver(self, update: dict[str, Any]) -> None:
        status = self.forward(update)
        if status == 403:
            raise PollingError(
                "the webhook refused the secret (403): this script and the Rasa server must see the same "
                "TELEGRAM_TOKEN and TELEGRAM_SECRET_TOKEN"
            )
        if status == 503:
            raise PollingError("the Rasa server's Telegram channel is off or refused the token (503); see its log")
        if status >= 500:
            raise ConnectionError(f"the webhook answered {status}")
        if status != 200:  # 400: not an update the connector can read; retrying would not change that
            logger.warning("update %s skipped: the webhook answered %s", update.get("update_id"), status)
            return
        self.forwarded += 1
        logger.debug("update %s forwarded", update.get("update_id"))

    def _retrying(self, step: Any) -> Any:
        """Run `step`, retrying network trouble with a growing pause, at most max_failures times in a row."""
        failures = 0
        while True:
            try:
                return step()
            except PollingError:
                raise
            except BotApiError as exc:
                if exc.code in (401, 404):
                    raise PollingError(f"Telegram rejected the token ({exc})") from None
                if exc.code == 409:  # a webhook is set again (e.g. a server started with TELEGRAM_WEBHOOK_URL)
                    logger.warning("Telegram: %s; deleting the webhook again", exc)
                    with contextlib.suppress(BotApiError, OSError, ValueError):
                        self.call("deleteWebhook", {"drop_pending_updates": False}, timeout=30)
                error: Exception = exc
            except (OSError, ValueError) as exc:  # URLError, ConnectionError and timeouts are OSErrors
                error = exc
            failures += 1
            if failures >= self.max_failures:
                raise PollingError(f"giving up after {failures} failures in a row; last: {error}") from None
            pause = min(self.backoff * 2 ** (failures - 1), 30)
            logger.warning("%s; retrying in %.0fs (%d/%d)", error, pause, failures, self.max_failures)
            time.sleep(pause)

    def confirm(self) -> None:
        """Tell Telegram about updates forwarded since the last getUpdates, so none is delivered twice."""
        if self.offset is None or self.offset == self._confirmed:
            return
        try:
            self.call("getUpdates", {"offset": self.offset, "timeout": 0, "limit": 1}, timeout=10)
            self._confirmed = self.offset
        except (BotApiError, OSError, ValueError) as exc:
            logger.warning("could not confirm the last updates (%s); the server ignores repeats anyway", exc)


def main() -> int:
    """`make telegram-polling`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005", help="the running Rasa server")
    parser.add_argument("--timeout", type=int, default=30, help="getUpdates long-poll timeout, seconds")
    parser.add_argument("--max-failures", type=int, default=5, help="give up after this many failures in a row")
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for the Rasa server to come up")
    args = parser.parse_args()
    # Ctrl-C (and SIGTERM) end the loop through KeyboardInterrupt, even when started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        settings = TelegramSettings.from_env()
        if settings.webhook_url:
            logger.warning(
                "TELEGRAM_WEBHOOK_URL is set; polling deletes the webhook. Start the Rasa server without it, "
                "or it registers the webhook again at its next start."
            )
        poller = Poller(settings, args.rasa_url, poll_timeout=args.timeout, max_failures=args.max_failures)
        poller.run(wait_for_rasa=args.wait)
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
        return 0
    except (PollingError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
