"""Webhooks: each event of the feed POSTed, signed and in order, to each endpoint.

``endpoints`` registers and manages endpoints (admin's services), ``sending`` makes
one signed POST, ``delivery`` sends an endpoint's events in order with retries, and
``tasks`` runs it on the task worker, woken when events commit.
"""
