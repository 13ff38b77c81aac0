from tests.webhook_receiver import clock, receiver

__all__ = ["clock", "receiver"]
