"""Learning from use: what readers asked, what the bot could not answer, and what they rated.

Reads Rasa's SQL tracker store (the `events` table) and never imports Rasa at run time, so
it runs against a copy of the database or a live PostgreSQL without a Rasa server.
`python -m usage report|prune|review` (the Makefile's `report`, `prune` and `review`).
"""
