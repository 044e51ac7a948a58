"""Partitions between hosts (network namespaces): a worker's, the scheduler lock holder's, the web's."""
