"""The JSON API (seed 001): its transport, calls, input and answer models and the
generated OpenAPI document."""
