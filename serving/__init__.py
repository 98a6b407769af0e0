"""Serving the bot: supervised servers for `make run` / `make shell`, and the load-balanced `make cluster`."""
