"""The pytest plugin (entry point ``pytest11``; without installing, ``-p faultline.pytest_plugin``
with this folder on PYTHONPATH).

Fixtures:
  faultline_server  one ``faultline serve`` for the whole test run (session scope)
  faultline         a Session of its own for each test, closed after it
Option: --faultline-bin PATH (else $FAULTLINE_BIN, else ``faultline`` on PATH).
"""

import pytest

from faultline import Faultline


def pytest_addoption(parser):
    parser.addoption("--faultline-bin", default=None,
                     help="the faultline program (default $FAULTLINE_BIN, else on PATH)")


@pytest.fixture(scope="session")
def faultline_server(request):
    """One running ``faultline serve`` (a Faultline) shared by every test."""
    server = Faultline.start(binary=request.config.getoption("--faultline-bin"))
    yield server
    server.close()


@pytest.fixture
def faultline(faultline_server):
    """A session of its own for the test: attempts, journal and scenarios apart from others."""
    session = faultline_server.session()
    yield session
    session.close()
