#!/usr/bin/env bash
# Spark's Kafka connector for the streaming jobs, from Maven Central:
#
#   <outdir>/spark-kafka-<version>/*.jar   spark-sql-kafka-0-10, spark-token-provider-kafka-0-10,
#                                          kafka-clients, commons-pool2
#
# Only the jars PySpark does not ship are kept (Scala, Hadoop's client, slf4j, lz4 and snappy
# come with pyspark itself; a second copy on the class path would be a conflict waiting to happen).
#
# Usage: tools/spark-kafka-dist/build.sh VERSION [OUTDIR]   (OUTDIR default build/spark-kafka)
# VERSION must be the pinned pyspark's. Prints the folder's path as its last line.
set -euo pipefail

version="${1:?usage: build.sh SPARK_VERSION [OUTDIR]}"
outdir="${2:-build/spark-kafka}"
scala="2.13"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
keep="spark-sql-kafka-0-10_${scala},spark-token-provider-kafka-0-10_${scala},kafka-clients,commons-pool2"

command -v mvn >/dev/null || { echo "spark-kafka-dist: 'mvn' not found on PATH" >&2; exit 1; }

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
dest="$outdir/spark-kafka-$version"
stage="$(mktemp -d "$outdir/.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

echo "spark-kafka-dist: resolving spark-sql-kafka-0-10_${scala}:$version with Maven" >&2
if ! mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -Dspark.version="$version" \
        dependency:copy-dependencies -DincludeScope=runtime -DincludeArtifactIds="$keep" \
        -DoutputDirectory="$stage" 2>&1 | sed 's/\x1b\[[0-9;]*m//g; /^$/d' >&2 \
   || ! compgen -G "$stage/spark-sql-kafka-0-10_${scala}-${version}.jar" >/dev/null; then
    echo "spark-kafka-dist: Spark's Kafka connector $version is not served; pin pyspark to a release whose connector resolves (see the Makefile)" >&2
    exit 1
fi
for name in ${keep//,/ }; do
    compgen -G "$stage/$name-*.jar" >/dev/null || { echo "spark-kafka-dist: $name missing" >&2; exit 1; }
done

rm -rf "$dest"
mv "$stage" "$dest"
trap - EXIT
echo "spark-kafka-dist: $(ls "$dest" | wc -l) jars in $dest" >&2
echo "$dest"
