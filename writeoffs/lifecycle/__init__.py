"""The life of a write-off and a dispute hold: create, reverse, settle, expire, recover, correct."""
