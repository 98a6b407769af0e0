"""Rasa input/output channels of our own: the web chat page and a hardened Telegram connector."""
