"""The sync API's machinery: the event loop thread, blocking chain nodes, sync notification endpoints."""
