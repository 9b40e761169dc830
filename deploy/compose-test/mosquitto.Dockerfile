# Stand-in for the official eclipse-mosquitto:2.0 image where no image registry is
# reachable: Debian's mosquitto 2.0 with the official image's paths, so
# docker-compose.yml's mounts and health check (nc) work unchanged.
FROM localhost/debian:bookworm
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      mosquitto netcat-openbsd \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /mosquitto/config /mosquitto/data /mosquitto/certs \
 && chown mosquitto /mosquitto/data
# Started as root, mosquitto drops to the user `mosquitto` after reading its files.
CMD ["/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]
