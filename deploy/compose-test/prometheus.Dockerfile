# Stand-in for prom/prometheus where no image registry is reachable: Debian's Prometheus
# 2.x with the official image's paths (/etc/prometheus, data in /prometheus), user
# (nobody) and entry point, plus busybox's wget as docker-compose.yml's health check uses.
FROM localhost/debian:bookworm
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      prometheus busybox \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /bin/busybox /usr/local/bin/wget \
 && mkdir -p /prometheus && chown nobody /prometheus
USER nobody
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
