"""What pyproject.toml cannot say: a wheel without the dashboard's libraries is refused.

The API serves the dashboard and its npm libraries (Leaflet, uPlot, Swagger UI, ReDoc)
itself, because the prefecture's network reaches no CDN; `npm ci` in dashboard/ installs
them and the wheel carries them (package data in pyproject.toml). Built without them, the
wheel would install cleanly and answer 503 at `/`, so the build stops here instead and
says what to run. Editable installs (`make install`) are exempt: they serve the checkout's
dashboard/, which `make install` fills after installing the package.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

DASHBOARD = Path(__file__).resolve().parent / "dashboard"
# What api/dashboard.py and api/api_docs.py serve from the dashboard folder.
SERVED = ("index.html", "app", "node_modules/leaflet/dist", "node_modules/uplot/dist",
          "node_modules/swagger-ui-dist", "node_modules/redoc/bundles")


class BuildWithDashboard(build_py):
    def run(self) -> None:
        missing = [name for name in SERVED if not (DASHBOARD / name).exists()]
        if missing and not self.editable_mode:
            raise SetupError(
                f"the wheel needs the dashboard's npm libraries, missing under {DASHBOARD}: "
                f"{', '.join(missing)}; run `npm ci` in dashboard/ (or `make install`) first")
        super().run()


setup(cmdclass={"build_py": BuildWithDashboard})
