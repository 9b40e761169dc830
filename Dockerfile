# One image for every floodwatch stage: `floodwatch ingest`, `floodwatch alerts`, ...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY ingest ingest
COPY alerts alerts
COPY api api
COPY simulators simulators
COPY floodwatch floodwatch
COPY config config
RUN pip install . \
 && useradd --system --home-dir /var/lib/floodwatch --create-home floodwatch
USER floodwatch
ENV FLOODWATCH_STATE_DIR=/var/lib/floodwatch FLOODWATCH_LOG_FORMAT=json
ENTRYPOINT ["floodwatch"]
CMD ["--help"]
