# floodwatch's image where no image registry is reachable (the tests' compose stack):
# the same layout as ../../Dockerfile (/app/config, the user floodwatch, the state
# directory, `floodwatch` as entry point), built FROM the debootstrapped Debian base
# with Debian's Python 3.11 and no network but Debian's mirror. Python packages come
# from a wheelhouse made on the host (`pip wheel --require-hashes` of
# requirements-runtime.lock, checked there against the lock's hashes, and the
# floodwatch wheel, which carries the dashboard and its npm libraries).
FROM localhost/debian:bookworm
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PATH=/opt/floodwatch/bin:$PATH
# Dependencies in a layer of their own: a new floodwatch wheel does not reinstall them.
COPY requirements-runtime.lock /build/
COPY wheelhouse /build/wheelhouse
RUN python3 -m venv /opt/floodwatch \
 && pip install --quiet --no-index --find-links /build/wheelhouse \
      -r /build/requirements-runtime.lock
COPY dist /build/dist
RUN pip install --quiet --no-index --no-deps /build/dist/*.whl && rm -rf /build \
 && useradd --system --home-dir /var/lib/floodwatch --create-home floodwatch \
 && mkdir -p /var/lib/floodwatch && chown floodwatch /var/lib/floodwatch
WORKDIR /app
COPY config config
USER floodwatch
ENV FLOODWATCH_STATE_DIR=/var/lib/floodwatch FLOODWATCH_LOG_FORMAT=json
ENTRYPOINT ["floodwatch"]
CMD ["--help"]
