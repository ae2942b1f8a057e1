"""Reference hub receiver for station sync (see docs/sync.md)."""
