#!/usr/bin/env bash
# Runs one of Kafka's Java tools against the local broker with the jars infra/up.sh cached, e.g.
#   infra/kafka/run-class.sh org.apache.kafka.tools.ProducerPerformance --topic t --num-records 1000 ...
set -euo pipefail

# shellcheck source=infra/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../common.sh"

if (($# == 0)) || [[ $1 == -h || $1 == --help ]]; then
  cat <<USAGE
usage: infra/kafka/run-class.sh <main class> [arguments...]
  org.apache.kafka.tools.TopicCommand        --bootstrap-server $BIND_HOST:$KAFKA_PORT --list
  org.apache.kafka.tools.ConsoleProducer     --bootstrap-server $BIND_HOST:$KAFKA_PORT --topic <t>
  org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server $BIND_HOST:$KAFKA_PORT --topic <t> --from-beginning
  org.apache.kafka.tools.ProducerPerformance --topic <t> --num-records 100000 --record-size 512
      --throughput -1 --producer-props bootstrap.servers=$BIND_HOST:$KAFKA_PORT acks=all
USAGE
  exit 0
fi

[[ -f $KAFKA_LIBS_DIR/.complete ]] || die "Kafka's jars are not in $KAFKA_LIBS_DIR yet: run bash infra/up.sh kafka first"
require_java
# KAFKA_TOOL_HEAP_OPTS sizes the tool's own JVM; benchmarks producing large batches may want more.
read -r -a heap <<<"${KAFKA_TOOL_HEAP_OPTS:--Xmx512m}"
exec "$JAVA_BIN" "${heap[@]}" -XX:+UseG1GC -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$INFRA_DIR/kafka/tools-log4j2.xml" \
  -cp "$KAFKA_LIBS_DIR/*" "$@"
