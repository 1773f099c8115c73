"""The operations domain: plain classes that enforce their rules and record their events.

Nothing here knows a database, a bus or a web framework.
"""
