#!/bin/sh
# Runs the connector with the arguments given (`docker run <image> check -c ...`), or, when
# the first argument is a program (Elastic's documented form,
# `docker run <image> /app/bin/elastic-ingest -c /config/config.yml`), that program.
set -e
case "$1" in
  /*) exec "$@" ;;
  *) exec confluence-connector "$@" ;;
esac
