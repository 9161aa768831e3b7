#!/usr/bin/env bash
# The images' HEALTHCHECK: GET /v2/health/ready on the container's own port (SG_HEALTH_PORT, default 8000),
# healthy on a 200. Plain bash (/dev/tcp), since the runtime images carry no curl or wget.
port=${SG_HEALTH_PORT:-8000}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /v2/health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
read -r -t 3 status_line <&3 || exit 1
case "$status_line" in
    "HTTP/1.1 200"*) exit 0 ;;
    *) exit 1 ;;
esac
