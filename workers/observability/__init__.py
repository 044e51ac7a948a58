"""Metrics kept in Redis for every process, and the audit trail of changes people make."""
