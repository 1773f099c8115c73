"""Notifications: who is told what, on which channel, stored with their delivery state.

A loop asks :class:`~plantos.integration.notify.routing.Router` whom a fact concerns,
queues the answers with :class:`~plantos.integration.notify.store.NotificationStore`
in its own transaction, and the :class:`~plantos.integration.notify.dispatcher.Dispatcher`
delivers them through the channels with retries; station notifications wait on the
line's station page until a person acknowledges them.
"""
