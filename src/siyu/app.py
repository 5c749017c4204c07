"""FastAPI application factory: routers, error handlers, static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def install_error_handlers(app: FastAPI) -> None:
    """One handler for the SiyuError hierarchy plus FastAPI's own errors, all as JSON {code, message}."""

    @app.exception_handler(SiyuError)
    async def _siyu_error(_request: Request, exc: SiyuError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content=exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        first = details[0] if details else {"where": "request", "why": "invalid"}
        message = f"{first['where']}: {first['why']}"
        return JSONResponse(
            status_code=422, content={"code": "invalid", "message": message, "details": details}, headers=None
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "error"
        )
        return JSONResponse(status_code=exc.status_code, content={"code": code, "message": str(exc.detail)})


def create_app(engine: Engine | None = None) -> FastAPI:
    """Build the Siyu web application bound to engine (default: the configured database)."""
    from siyu.api.router import api_router
    from siyu.web.views import router as web_router

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
    install_error_handlers(app)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(web_router)
    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
