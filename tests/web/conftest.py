"""Console test helpers: accounts, sign-in through the real form, CSRF tokens read from pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from siyu.app import create_app
from siyu.db.engine import session_factory
from siyu.models import Account
from siyu.org.accounts import create_account
from siyu.org.service import create_staff, create_unit

PASSWORD = "correct-horse-1"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')

MakeAccount = Callable[..., Account]


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF input"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, next: str = "/") -> httpx.Response:
    """Sign in through the form, as a browser would (GET the form, POST it back with its token)."""
    page = client.get("/login")
    assert page.status_code == 200
    return client.post(
        "/login",
        data={"username": username, "password": password, "next": next, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def page_token(client: TestClient, path: str = "/") -> str:
    """The CSRF token a signed-in page carries."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


@pytest.fixture()
def make_account(engine: Engine) -> MakeAccount:
    """Create (and commit) a console account; scope 'all' unless told otherwise."""

    def make(
        username: str,
        role: str = "admin",
        *,
        password: str = PASSWORD,
        scope: str = "all",
        display_name: str | None = None,
        unit_code: str | None = None,
        staff_code: str | None = None,
    ) -> Account:
        with session_factory(engine)() as s:
            account = create_account(
                s,
                username=username,
                password=password,
                role=role,
                scope=scope,
                unit_code=unit_code,
                staff_code=staff_code,
                display_name=display_name,
            )
            s.commit()
            return account

    return make


@pytest.fixture()
def store(engine: Engine) -> str:
    """An org unit (region → store) with one staff member S1; returns the store code."""
    with session_factory(engine)() as s:
        create_unit(s, code="R1", name="华东大区", kind="region")
        create_unit(s, code="ST1", name="上海南京路店", kind="store", parent_code="R1")
        create_staff(s, code="S1", name="王导购", unit_code="ST1")
        s.commit()
    return "ST1"


@pytest.fixture()
def admin_client(client: TestClient, make_account: MakeAccount) -> TestClient:
    """A client signed in as the admin 'root'."""
    make_account("root", "admin", display_name="Root Admin")
    assert login(client, "root").status_code == 303
    return client


@pytest.fixture()
def https_client(engine: Engine) -> Iterator[TestClient]:
    """A client that talks to the app over https."""
    with TestClient(create_app(engine), base_url="https://testserver") as c:
        yield c
