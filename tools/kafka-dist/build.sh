#!/usr/bin/env bash
# Build an archive laid out like Apache's kafka_2.13-<version>.tgz from the jars
# on Maven Central:
#
#   kafka_2.13-<version>/libs/*.jar             broker + admin tools + log4j2
#   kafka_2.13-<version>/config/log4j2.yaml      broker logging, to stdout
#   kafka_2.13-<version>/config/tools-log4j2.yaml  tool logging, warnings to stderr
#
# Usage: tools/kafka-dist/build.sh [VERSION] [OUTDIR]    (defaults: 4.1.1 build/kafka)
# Prints the archive's path as its last line. Maven keeps its default local
# repository (~/.m2), so later runs download nothing.
#
# The archive is reproducible for a given jar set: names sorted, owner 0:0,
# modes normalised, every mtime = SOURCE_DATE_EPOCH (fixed default), gzip
# without name/timestamp.
set -euo pipefail

version="${1:-4.1.1}"
outdir="${2:-build/kafka}"
scala="2.13"
name="kafka_${scala}-${version}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
epoch="${SOURCE_DATE_EPOCH:-946684800}"   # 2000-01-01T00:00:00Z

for tool in mvn tar gzip; do
    command -v "$tool" >/dev/null || { echo "kafka-dist: '$tool' not found on PATH" >&2; exit 1; }
done

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"   # absolute: Maven resolves relative paths against the pom
archive="$outdir/${name}.tgz"
stage="$(mktemp -d "$outdir/.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
libs="$stage/$name/libs"

echo "kafka-dist: resolving Kafka $version jars with Maven" >&2
mvn -B -q -Dstyle.color=never -f "$here/pom.xml" \
    -Dkafka.version="$version" \
    dependency:copy-dependencies \
    -DincludeScope=runtime \
    -DoutputDirectory="$libs" 2>&1 \
    | sed 's/\x1b\[[0-9;]*m//g; /^$/d' >&2   # Maven logs (errors) to stdout, with colour codes

# The jars every user of the archive relies on (broker, StorageTool,
# TopicCommand/ConsumerGroupCommand/ProducerPerformance, log4j2 binding).
for jar in "kafka_${scala}-${version}.jar" "kafka-server-${version}.jar" \
           "kafka-storage-${version}.jar" "kafka-tools-${version}.jar" \
           "kafka-clients-${version}.jar"; do
    [[ -f "$libs/$jar" ]] || { echo "kafka-dist: $jar missing from libs/" >&2; exit 1; }
done
for pattern in 'log4j-core-*.jar' 'log4j-slf4j-impl-*.jar' 'slf4j-api-*.jar'; do
    compgen -G "$libs/$pattern" >/dev/null || { echo "kafka-dist: no $pattern in libs/" >&2; exit 1; }
done

mkdir -p "$stage/$name/config"
cp "$here"/config/*.yaml "$stage/$name/config/"

tmp="$archive.tmp.$$"
trap 'rm -rf "$stage" "$tmp"' EXIT
(cd "$stage" && tar --sort=name --format=gnu \
    --owner=0 --group=0 --numeric-owner \
    --mode='u=rwX,go=rX' --mtime="@$epoch" \
    -cf - "$name") | gzip -n > "$tmp"
mv -f "$tmp" "$archive"
touch "$archive"   # make's notion of "up to date" is the file's own mtime

echo "kafka-dist: $(ls "$libs" | wc -l) jars, $(du -h "$archive" | cut -f1)" >&2
echo "$archive"
