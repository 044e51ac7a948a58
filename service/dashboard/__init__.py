"""rq-dashboard at /dashboard, behind the API keys: mount, guard, access rules, safe output."""

from service.dashboard.guard import DashboardGuard
from service.dashboard.mount import dashboard_app

__all__ = ["DashboardGuard", "dashboard_app"]
