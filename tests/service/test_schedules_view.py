"""The /dashboard/schedules pages through the app factory, on the suite's real Redis."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from bench.harness.ports import free_port
from service.app import create_app
from service.settings import ServiceSettings
from tests.support.keys import ADMIN, KEYS

BROWSER = ("anyone", "test-admin-key")  # basic auth, as a browser logs in
READER = ("anyone", "test-read-key")
SAME_SITE = {"Origin": "http://testserver"}
EVIL = "<script>alert(1)</script>"
NIGHTLY = {
    "task": "tests.echo",
    "args": [[EVIL, "<img src=x onerror=alert(2)>"]],
    "cron": "0 3 * * *",
    "timezone": "Asia/Shanghai",
}


def put(client: TestClient, name: str, **body: Any) -> dict[str, Any]:
    answer = client.put(f"/schedules/{name}", json=body or NIGHTLY, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def post(client: TestClient, path: str, auth: tuple[str, str] = BROWSER, **headers: str) -> Any:
    return client.post(f"/dashboard/schedules/{path}", auth=auth, headers=headers, follow_redirects=False)


def paused(client: TestClient, name: str) -> bool:
    return client.get(f"/schedules/{name}", headers=ADMIN).json()["paused"]  # type: ignore[no-any-return]


def assert_inert(html: str) -> None:
    """Schedule values show as text: no markup they carry survives, and the page has no script."""
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()


def test_list_shows_every_schedule_escaped(client: TestClient) -> None:
    # given
    put(client, "nightly")
    put(client, "every30", task="tests.echo", kwargs={"value": 1}, interval=30)
    put(client, "once", task="tests.echo", at="2099-12-01T00:00:00Z")

    # when either path is opened, then
    for path in ("/dashboard/schedules", "/dashboard/schedules/"):
        page = client.get(path, auth=READER)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert_inert(page.text)
        assert re.findall(r'data-schedule="([^"]+)"', page.text) == ["every30", "nightly", "once"]
        for text in ("cron 0 3 * * * (Asia/Shanghai)", "every 30 s", "(value=1)", "once at 2099-12-01 00:00:00 UTC"):
            assert text in page.text
        assert "19:00:00 UTC" in page.text  # nightly's next run: 03:00 in Shanghai
        assert 'href="/dashboard/"' in page.text
        assert "/dashboard/static/css/bootstrap.min.css" in page.text


def test_empty_list(client: TestClient) -> None:
    assert "No schedules yet" in client.get("/dashboard/schedules", auth=BROWSER).text


def test_detail_shows_upcoming_in_utc_and_local(client: TestClient) -> None:
    put(client, "nightly")
    page = client.get("/dashboard/schedules/nightly", auth=READER)
    assert page.status_code == 200
    assert_inert(page.text)
    upcoming = page.text.split('id="upcoming"')[1].split("</table>")[0]
    assert upcoming.count("19:00:00 UTC") == 5
    assert upcoming.count("03:00:00 +0800 Asia/Shanghai") == 5
    assert "No runs yet" in page.text


def test_detail_lists_runs_with_links_to_their_jobs(client: TestClient, run_worker: Any) -> None:
    put(client, "nightly")
    answer = post(client, "nightly/trigger", **SAME_SITE)
    job_id = client.get("/schedules/nightly", headers=ADMIN).json()["last_job_id"]
    assert answer.status_code == 303
    assert job_id in answer.headers["location"]
    run_worker()
    page = client.get(answer.headers["location"], auth=BROWSER)
    assert "Triggered" in page.text
    assert 'class="badge badge-success">finished<' in page.text
    runs = page.text.split('id="runs"')[1]
    assert f'href="/dashboard/0/view/job/{job_id}"' in runs
    assert client.get(f"/dashboard/0/view/job/{job_id}", auth=BROWSER).status_code == 200


def test_no_key_is_401_basic(client: TestClient) -> None:
    put(client, "nightly")
    for method, path in (("GET", ""), ("GET", "/"), ("GET", "/nightly"), ("POST", "/nightly/pause")):
        for auth in (None, ("anyone", "wrong")):
            answer = client.request(method, f"/dashboard/schedules{path}", auth=auth, headers=SAME_SITE)
            assert answer.status_code == 401
            assert answer.headers["www-authenticate"].startswith("Basic")
    assert paused(client, "nightly") is False


def test_pause_resume_trigger_from_the_pages(client: TestClient) -> None:
    # given
    put(client, "nightly")

    # when paused, then
    answer = post(client, "nightly/pause?back=list", **SAME_SITE)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/schedules/?")
    assert paused(client, "nightly") is True
    listing = client.get(answer.headers["location"], auth=BROWSER).text
    assert "Paused" in listing
    assert 'action="/dashboard/schedules/nightly/resume?back=list"' in listing

    # when resumed, then
    answer = post(client, "nightly/resume", Referer="http://testserver/dashboard/schedules/nightly")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/schedules/nightly?")
    assert paused(client, "nightly") is False

    # when triggered, then
    assert post(client, "nightly/trigger", **SAME_SITE).status_code == 303
    runs = client.get("/schedules/nightly/runs", headers=ADMIN).json()["runs"]
    assert len(runs) == 1
    assert runs[0]["job_id"].startswith("nightly-trigger-")

    # Audited as the API audits them (by action name, with the state), not as a generic dashboard request.
    entries = client.get("/audit?schedule=nightly", headers=ADMIN).json()["entries"]
    assert [e["action"] for e in entries] == [
        "schedule.trigger",
        "schedule.resume",
        "schedule.pause",
        "schedule.create",
    ]
    assert entries[0]["after"] == {"job_id": runs[0]["job_id"]}
    assert entries[2]["after"]["paused"] is True
    assert {e["key"] for e in entries[:3]} == {"key1"}
    every_entry = client.get("/audit", headers=ADMIN).json()["entries"]
    assert [e for e in every_entry if e["action"].startswith("dashboard.")] == []


def test_actions_refused_cross_site_or_without_admin(client: TestClient) -> None:
    # given
    put(client, "nightly")

    # when, then
    for auth, headers in (
        (BROWSER, {"Origin": "https://evil.example"}),
        (BROWSER, {"Referer": "https://evil.example/dashboard/schedules"}),
        (BROWSER, {}),
        (READER, SAME_SITE),
    ):
        for action in ("pause", "trigger"):
            assert post(client, f"nightly/{action}", auth, **headers).status_code == 403

    # then: nothing happened
    assert paused(client, "nightly") is False
    assert client.get("/schedules/nightly/runs", headers=ADMIN).json()["runs"] == []
    page = client.get("/dashboard/schedules/nightly", auth=READER).text
    assert page.count('disabled title="needs an admin key"') == 2


def test_unknown_schedule_or_action_is_404(client: TestClient) -> None:
    put(client, "nightly")
    assert client.get("/dashboard/schedules/nope", auth=BROWSER).status_code == 404
    assert post(client, "nope/pause", **SAME_SITE).status_code == 404
    assert post(client, "nope/trigger", **SAME_SITE).status_code == 404
    missing = post(client, "nightly/explode", **SAME_SITE)
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert paused(client, "nightly") is False
    reflected = client.get("/dashboard/schedules/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", auth=BROWSER)
    assert reflected.status_code == 404
    assert "&lt;img src=x onerror=alert(1)&gt;" in reflected.text
    assert "<img" not in reflected.text


def test_rq_dashboard_still_served_beside_it(client: TestClient) -> None:
    assert client.get("/dashboard/", auth=BROWSER).status_code == 200
    assert client.get("/dashboard/0/view/jobs", auth=BROWSER).status_code == 200


def test_redis_down_is_503_not_500() -> None:
    settings = ServiceSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0", api_keys=KEYS)
    with TestClient(create_app(settings)) as client:
        for method, path in (("GET", ""), ("GET", "/nightly"), ("POST", "/nightly/pause")):
            answer = client.request(method, f"/dashboard/schedules{path}", auth=BROWSER, headers=SAME_SITE)
            assert answer.status_code == 503, (path, answer.text)
            assert int(answer.headers["retry-after"]) > 0, (path, answer.text)


def test_detail_shows_each_runs_progress_as_text(client: TestClient, redis: Any) -> None:
    """A run's job reports progress (workers.progress writes its meta): the runs table shows it, escaped."""
    from workers.jobs.submit import fetch

    put(client, "nightly")
    job_id = client.post("/schedules/nightly/trigger", headers=ADMIN).json()["id"]
    job = fetch(redis, job_id)
    job.meta.update(progress=0.4, progress_message=f"page 4 of 10 {EVIL}")
    job.save_meta()
    runs = client.get("/dashboard/schedules/nightly", auth=READER).text.split('id="runs"')[1]
    assert '<progress value="0.4" max="1"></progress> 40% page 4 of 10 &lt;script&gt;' in runs
    assert "<script" not in runs
