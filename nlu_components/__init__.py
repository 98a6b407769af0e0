"""Custom Rasa NLU components.

They live outside `knowledge/` because that package must never import Rasa;
these components are the thin bridge from Rasa's pipeline to `knowledge`.
"""
