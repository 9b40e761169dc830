# One image for every floodwatch stage: `floodwatch ingest | alerts | notify | api`.

# The browser libraries the API serves (Leaflet and uPlot for the dashboard, Swagger UI
# and ReDoc for /docs and /redoc), exactly as dashboard/package-lock.json pins them; the
# app serves them itself, so nothing is fetched from a CDN at run time. Node.js 24 is an
# LTS line supported until April 2028 (20 reached its end of life on 2026-04-30).
FROM node:24-slim AS dashboard
WORKDIR /dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# The runtime dependencies exactly as requirements-runtime.lock pins them, each checked
# against its hash (the same versions as requirements.lock, which `make install` uses),
# in a layer of their own: a change to the code does not reinstall them.
COPY requirements-runtime.lock ./
RUN pip install --require-hashes -r requirements-runtime.lock
COPY pyproject.toml setup.py README.md LICENSE ./
COPY core core
COPY ingest ingest
COPY forecast forecast
COPY alerts alerts
COPY notify notify
COPY api api
COPY simulators simulators
COPY floodwatch floodwatch
# Package data of the wheel pip builds: the sample configuration and the dashboard with
# its npm libraries (setup.py refuses to build without them). config/ also stays as
# /app/config, the files docker-compose.yml names.
COPY config config
COPY dashboard dashboard
COPY --from=dashboard /dashboard/node_modules dashboard/node_modules
RUN pip install --no-deps . \
 && useradd --system --home-dir /var/lib/floodwatch --create-home floodwatch
# Named volumes mounted here take this directory's owner on first use.
RUN mkdir -p /var/lib/floodwatch && chown floodwatch /var/lib/floodwatch
USER floodwatch
ENV FLOODWATCH_STATE_DIR=/var/lib/floodwatch FLOODWATCH_LOG_FORMAT=json
ENTRYPOINT ["floodwatch"]
CMD ["--help"]
