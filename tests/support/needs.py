"""What to do when a test's outside tool (Chromium, openssl, a TLS-built redis-server) is missing.

On a developer's machine the test is skipped with how to install the tool; in CI (the
`CI` variable set, as CI services and `.ci/run` do) it fails, so a proof such as the
browser's CSP check or the TLS check can never vanish from a green run.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(what: str) -> NoReturn:
    """Skip for want of `what` (say how to install it), or fail when running in CI."""
    if in_ci():
        pytest.fail(f"CI must run this test, but {what}", pytrace=False)
    pytest.skip(what)
