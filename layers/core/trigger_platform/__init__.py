"""Event Trigger Platform: the domain package shared by every Lambda through the core layer."""
