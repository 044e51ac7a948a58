"""What every process shares first: settings, the Redis client, key names, errors, logging, start-up."""
