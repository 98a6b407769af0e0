"""Rasa custom actions: thin glue between the dialogue and the `knowledge` package."""
