# Stand-in for InfluxDB where no image registry is reachable: Debian has InfluxDB 1.x
# only (1.6), so this is tagged influxdb:1.6, not the 2.7 that docker-compose.yml runs.
# floodwatch speaks InfluxDB's v1 API to both; the 2.x first-start bootstrap (setup
# mode, token, DBRP-mapped bucket) is NOT exercised here (docs/deploy.md says so).
FROM localhost/debian:bookworm
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      influxdb curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/influxdb && chown influxdb /var/lib/influxdb
USER influxdb
ENV INFLUXDB_REPORTING_DISABLED=true INFLUXDB_DATA_QUERY_LOG_ENABLED=false \
    INFLUXDB_HTTP_LOG_ENABLED=false
CMD ["/usr/bin/influxd", "-config", "/etc/influxdb/influxdb.conf"]
