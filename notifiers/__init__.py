"""Delivery channels (email, WeCom, console) and message templates. Knows nothing of the database."""
