"""Retrieval over news articles: parse, chunk, embed, index, search and extract answers.

This package knows nothing about Rasa; `actions/` glues it to the dialogue.
"""
