"""What every benchmark shares: processes, waits, a Redis, plans, the runner and report helpers.

One owner of child processes (`processes`), one wait loop (`wait`), one
redis-server launcher (`redis`), one plan shape (`plan`), one runner that
records failures and writes JSON (`runner`), and the table and ratio helpers
(`report`), so each benchmark package holds only what it measures.
"""
