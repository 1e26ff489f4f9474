#!/usr/bin/env bash
# Kafka's kafka-storage.sh, from the fetched jars (see kafka-run-class.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
