"""All API routers, included by `create_app`."""

from fastapi import APIRouter

from service.routes import catalog, jobs, ops, schedules

api_router = APIRouter()
for module in (jobs, schedules, catalog, ops):
    api_router.include_router(module.router)
