"""The API keys every test process and client uses: one per scope."""

ADMIN_KEY = "test-admin-key"
KEYS = [ADMIN_KEY, "reader:read:test-read-key", "ci:write:test-write-key"]
ADMIN = {"X-API-Key": ADMIN_KEY}
