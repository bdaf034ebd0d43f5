"""Fixtures for the channel tests: servers on 127.0.0.1 (see servers.py), started and stopped per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.notifiers.servers import Certificate, SmtpServer, make_certificate, start_smtp


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI (no extra dependency)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_factory() -> Iterator[Callable[..., SmtpServer]]:
    """Starts aiosmtpd servers with the given SMTP options; stops them all afterwards."""
    controllers: list[Controller] = []

    def start(**options: Any) -> SmtpServer:
        controller, server = start_smtp(**options)
        controllers.append(controller)
        return server

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(smtp_factory: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_factory()
