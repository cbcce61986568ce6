#!/bin/sh
# Installs the Prometheus that the integration tests run (internal/promtest):
# Debian's prometheus package (2.42 on Debian 12), with promtool. The package's
# service is not started; tests run the binary themselves. Idempotent.
set -eu

if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; then
	/usr/bin/prometheus --version 2>&1 | head -n 1
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends prometheus
/usr/bin/prometheus --version 2>&1 | head -n 1
