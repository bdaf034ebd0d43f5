"""The pure calendar model: periods, recurrence, working days, duty calendars and their expansion.

Nothing in this package reads the clock, a database or the network.
"""
