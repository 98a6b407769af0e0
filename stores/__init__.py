"""Rasa server stores of our own, named by module path in bot/endpoints-production.yml."""
