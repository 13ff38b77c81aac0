"""API keys: creating, revoking and authenticating them."""
