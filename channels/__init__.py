"""Rasa input/output channels of our own: REST with input checks, the web chat page, a hardened Telegram connector.

Importing the package installs `resilience`: Rasa imports it whenever
bot/credentials.yml names one of our channels, so every channel gets an
Indonesian "cannot look up" reply instead of silence when the action server fails.
"""

from channels import resilience

resilience.install()
