"""The dashboard shows every configured queue and links its two views, rq-dashboard's and the schedules one."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from service.settings import ServiceSettings
from tests.support.keys import ADMIN

RQ_DASHBOARD_PAGES = ["/dashboard/0/view/queues", "/dashboard/0/view/jobs", "/dashboard/0/view/workers"]
SCHEDULES = "/dashboard/schedules"


def links(page: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', page))


def test_every_configured_queue_is_listed_before_it_has_had_a_job(
    client: TestClient, settings: ServiceSettings
) -> None:
    listed = client.get("/dashboard/0/data/queues.json", headers=ADMIN).json()["queues"]
    assert {queue["name"] for queue in listed} == set(settings.queues)


@pytest.mark.parametrize("page", RQ_DASHBOARD_PAGES)
def test_rq_dashboard_pages_link_to_the_schedules_view(client: TestClient, page: str) -> None:
    assert SCHEDULES in links(client.get(page, headers=ADMIN).text)


def test_the_schedules_link_leads_to_the_schedules_view(client: TestClient) -> None:
    assert client.get(SCHEDULES, headers=ADMIN).status_code == 200


def test_the_schedules_view_links_back_to_rq_dashboard(client: TestClient) -> None:
    back = links(client.get(SCHEDULES, headers=ADMIN).text)
    assert set(RQ_DASHBOARD_PAGES) <= back
