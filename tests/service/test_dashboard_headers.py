"""The dashboard's CSP allows exactly the inline scripts the server rendered."""

import base64
import hashlib

from fastapi.testclient import TestClient

from service.dashboard.headers import policy
from tests.support.keys import ADMIN


def sha256(script: bytes) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"


def test_policy_hashes_inline_javascript_only() -> None:
    page = (
        b'<script src="/static/jquery.js"></script>'
        b'<script type="text/template"><%= d.description %></script>'
        b'<script type="text/javascript">var job = "x";</script>'
        b"<SCRIPT>run()</SCRIPT>"
    )
    script_src = next(part for part in policy(page).split(";") if part.strip().startswith("script-src"))
    assert script_src.split()[1:] == ["'self'", "'unsafe-eval'", sha256(b'var job = "x";'), sha256(b"run()")]
    assert "unsafe-inline" not in script_src


def test_dashboard_pages_carry_the_hash_of_their_script(client: TestClient) -> None:
    page = client.get("/dashboard/0/view/queues", headers=ADMIN)
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "'sha256-" in page.headers["content-security-policy"]
    static = client.get("/dashboard/static/js/jquery-3.5.1.min.js", headers=ADMIN)
    assert static.status_code == 200
    assert "'sha256-" not in static.headers["content-security-policy"]
