"""Adapters: the ports implemented over PostgreSQL (and, in later modules, Redis and EventBridge Scheduler)."""
