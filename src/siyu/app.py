"""FastAPI application factory: routers, error handlers, static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from siyu import __version__
from siyu.db.engine import get_engine, session_factory
from siyu.errors import SiyuError

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def _validation_details(exc: RequestValidationError) -> list[dict[str, object]]:
    return [
        {
            "where": ".".join(str(p) for p in err.get("loc", ())),
            "why": err.get("msg", ""),
            "value": err.get("input"),
        }
        for err in exc.errors()
    ]


def is_api_request(request: Request) -> bool:
    """Whether request is for the JSON API (errors as JSON) rather than a console page."""
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def install_error_handlers(app: FastAPI) -> None:
    """One handler per error kind: JSON {code, message} for the API, a page or htmx toast for the console."""
    from siyu.web import errors as web_errors

    @app.exception_handler(SiyuError)
    async def _siyu_error(request: Request, exc: SiyuError) -> Response:
        if not is_api_request(request):
            return await run_in_threadpool(web_errors.siyu_error_page, request, exc)
        return JSONResponse(status_code=exc.status_code, content=exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if not is_api_request(request):
            return await run_in_threadpool(web_errors.validation_error_page, request, exc)
        details = _validation_details(exc)
        first = details[0] if details else {"where": "request", "why": "invalid"}
        message = f"{first['where']}: {first['why']}"
        return JSONResponse(
            status_code=422, content={"code": "invalid", "message": message, "details": details}, headers=None
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not is_api_request(request):
            return await run_in_threadpool(
                web_errors.http_error_page, request, exc.status_code, str(exc.detail)
            )
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "error"
        )
        return JSONResponse(status_code=exc.status_code, content={"code": code, "message": str(exc.detail)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> Response:
        if not is_api_request(request):
            return await run_in_threadpool(web_errors.internal_error_page, request)
        return JSONResponse(
            status_code=500, content={"code": "internal_error", "message": "internal server error"}
        )


def create_app(engine: Engine | None = None) -> FastAPI:
    """Build the Siyu web application bound to engine (default: the configured database)."""
    from siyu.api.router import api_router
    from siyu.compliance.notify_views import router as notify_router
    from siyu.compliance.rules_views import router as compliance_rules_router
    from siyu.compliance.runs_views import router as compliance_runs_router
    from siyu.compliance.views import router as compliance_router
    from siyu.insights.settings_views import router as insight_settings_router
    from siyu.insights.views import router as insights_router
    from siyu.journeys.caps_views import router as caps_router
    from siyu.journeys.content_pack_views import router as content_pack_router
    from siyu.journeys.definition_views import router as journeys_router
    from siyu.journeys.experiment_views import router as experiments_router
    from siyu.journeys.inbox_views import router as inbox_router
    from siyu.journeys.mass_send_views import router as mass_sends_router
    from siyu.journeys.scripts_views import router as scripts_router
    from siyu.performance.boss_views import router as boss_router
    from siyu.performance.daily_report_views import router as daily_report_router
    from siyu.performance.kpi_views import router as kpi_router
    from siyu.performance.leaderboard_views import router as leaderboard_router
    from siyu.performance.target_views import router as target_router
    from siyu.performance.views import router as metrics_router
    from siyu.segments.views import router as segments_router
    from siyu.talent.advisor_views import router as talent_advisor_router
    from siyu.talent.competency_views import router as talent_competency_router
    from siyu.talent.cycle_person_views import router as talent_cycle_person_router
    from siyu.talent.cycle_views import router as talent_cycle_router
    from siyu.talent.gaps_views import router as talent_gaps_router
    from siyu.talent.roles_views import router as talent_roles_router
    from siyu.talent.views import router as talent_router
    from siyu.web.csrf import CsrfMiddleware
    from siyu.web.customer_views import router as customer_router
    from siyu.web.i18n import catalogs
    from siyu.web.import_views import router as import_router
    from siyu.web.overview_views import router as overview_router
    from siyu.web.security import SecurityHeadersMiddleware
    from siyu.web.tag_views import router as tag_router
    from siyu.web.views import router as web_router
    from siyu.wecom.behaviour_views import router as wecom_behaviour_router
    from siyu.wecom.callback_api import router as wecom_callback_router
    from siyu.wecom.callback_views import router as wecom_callbacks_router
    from siyu.wecom.handover_views import router as wecom_handover_router
    from siyu.wecom.send_views import router as wecom_send_router
    from siyu.wecom.sync_views import router as wecom_sync_router
    from siyu.wecom.views import router as wecom_router

    app = FastAPI(
        title="Siyu",
        version=__version__,
        description="Siyu (私域) private-domain operations platform: REST API v1.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.engine = engine or get_engine()
    app.state.sessions = session_factory(app.state.engine)
    catalogs()  # parse the .po files now: a broken catalog fails at startup, not on a page
    install_error_handlers(app)
    app.add_middleware(CsrfMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(web_router)
    app.include_router(overview_router)
    app.include_router(customer_router)
    app.include_router(insights_router)
    app.include_router(insight_settings_router)
    app.include_router(tag_router)
    app.include_router(import_router)
    app.include_router(leaderboard_router)
    app.include_router(metrics_router)
    app.include_router(daily_report_router)
    app.include_router(boss_router)
    app.include_router(kpi_router)
    app.include_router(target_router)
    app.include_router(segments_router)
    app.include_router(talent_router)
    app.include_router(talent_roles_router)
    app.include_router(talent_advisor_router)
    app.include_router(talent_gaps_router)
    app.include_router(talent_competency_router)
    app.include_router(talent_cycle_router)
    app.include_router(talent_cycle_person_router)
    app.include_router(compliance_router)
    app.include_router(compliance_rules_router)
    app.include_router(compliance_runs_router)
    app.include_router(notify_router)
    app.include_router(experiments_router)
    app.include_router(caps_router)  # before mass_sends_router: /mass-sends/caps is not /mass-sends/{id}
    app.include_router(mass_sends_router)
    app.include_router(journeys_router)
    app.include_router(content_pack_router)
    app.include_router(scripts_router)
    app.include_router(inbox_router)
    app.include_router(wecom_router)  # /wecom hub, /wecom/settings, /wecom/channel-codes
    app.include_router(wecom_sync_router)  # /wecom/sync
    app.include_router(wecom_behaviour_router)  # /wecom/behaviour
    app.include_router(wecom_send_router)  # /wecom/mass-sends, /wecom/moments
    app.include_router(wecom_handover_router)  # /wecom/handover
    app.include_router(wecom_callbacks_router)  # /wecom/callbacks (the inbox page)
    app.include_router(wecom_callback_router)  # /wecom/callback: no login, signature-checked, CSRF-exempt
    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
