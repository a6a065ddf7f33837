"""Notifications: the parser, typed events, the replay guard and the web framework adapters."""
