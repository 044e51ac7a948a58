"""`python -m bench failover`: kill -9 the Redis master of a Sentinel deployment under load."""
