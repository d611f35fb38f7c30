#!/usr/bin/env bash
# Installs a JVM language's current compiler (Debian 12 has Kotlin 1.3, Scala 2.11 and Groovy 2.4)
# from Maven Central: the jars that jvm/<LANGUAGE>-<VERSION>.lock lists, each checked against its
# sha256 there, under /usr/local/lib/sandpod/<LANGUAGE><VERSION>/ (embedded mode shows it read-only
# with the rest of /usr, the runtime image copies it as it is). Then a class data sharing archive
# (<LANGUAGE>.jsa) of the classes a hello world's compile loads, made by running it once with
# -XX:ArchiveClassesAtExit: the compile step maps them from it instead of loading and verifying
# them from the jars, about 40% of Kotlin's and Scala's compile CPU and 25% of Groovy's start.
# The JVM uses the archive only with the JDK that made it and the same class path, each jar at the
# size and mtime it had then, so the flags and class paths below are those of runtimes/catalog.yaml
# and the jars' mtime is 0, as the image build's reproducible layers store every file; with another
# JDK the JVM ignores the archive (slower, still right) until this script runs again.
# Usage: jvm.sh LANGUAGE VERSION (kotlin, scala or groovy). MAVEN_REPOSITORY overrides Maven Central.
set -euo pipefail
language="$1" version="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lock="$here/jvm/$language-$version.lock"
dest="/usr/local/lib/sandpod/$language$version"
jdk=/usr/lib/jvm/java-17-openjdk-amd64
repository="${MAVEN_REPOSITORY:-https://repo1.maven.org/maven2}"
[[ -f "$lock" ]] || { echo "jvm.sh: no lock list $lock" >&2; exit 2; }
[[ -x "$jdk/bin/java" ]] || { echo "jvm.sh: $jdk/bin/java is missing (apt-get install openjdk-17-jdk-headless)" >&2; exit 2; }
# What an install is of: the lock list and the JDK the archive was made with.
stamp="$(sha256sum "$lock" | cut -d' ' -f1) $(grep '^JAVA_RUNTIME_VERSION=' "$jdk/release")"
[[ -f "$dest/.installed" && "$(cat "$dest/.installed")" == "$stamp" ]] && exit 0

paths=()
while read -r sha path; do
  [[ -n "$sha" && "$sha" != \#* ]] || continue
  paths+=("$path")
done <"$lock"
jars=("${paths[@]##*/}")
classpath="$(printf "$dest/%s:" "${jars[@]}")"
classpath="${classpath%:}"

work="$(mktemp -d)"
trap 'rm -rf "$work" "$dest.new"' EXIT
echo "$language $version: downloading ${#jars[@]} jars from $repository"
rm -rf "$dest.new"
mkdir -p "$dest.new"
for path in "${paths[@]}"; do
  curl -fsSL --retry 3 -o "$dest.new/${path##*/}" "$repository/$path"
done
grep -v '^#' "$lock" | sed 's|  .*/|  |' | (cd "$dest.new" && sha256sum --check --quiet -)
touch -d @0 "$dest.new"/*.jar
rm -rf "$dest"
mv "$dest.new" "$dest"
chmod -R go-w,a+rX "$dest"

echo "$language $version: making the class data sharing archive $dest/$language.jsa"
# The catalog's flags: its compile step (for Groovy, its run step, which compiles the script).
compile_flags=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xss2m)
run_flags=(-XX:+UseSerialGC -XX:CICompilerCount=2 -XX:-UsePerfData -Xms16m -Xmx8g -Xss64m)
archive=(-XX:ArchiveClassesAtExit="$work/$language.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off)
mkdir "$work/build"
flags=("${compile_flags[@]}")
case "$language" in
  kotlin)
    printf 'fun main() {\n    val line = readlnOrNull() ?: "world"\n    println("hello, ${line.trim()}")\n}\n' >"$work/main.kt"
    (cd "$work" && "$jdk/bin/java" "${flags[@]}" "${archive[@]}" -cp "$classpath" \
      org.jetbrains.kotlin.cli.jvm.K2JVMCompiler -no-stdlib -no-reflect -cp "$dest/kotlin-stdlib-$version.jar" \
      -nowarn -d build main.kt)
    ;;
  scala)
    printf '@main def Main(): Unit =\n  val line = scala.io.StdIn.readLine()\n  println(s"hello, $line")\n' >"$work/main.scala"
    (cd "$work" && "$jdk/bin/java" "${flags[@]}" "${archive[@]}" -cp "$classpath" \
      dotty.tools.dotc.Main -color:never -classpath "$dest/scala3-library_3-$version.jar:$(echo "$dest"/scala-library-2.*.jar)" \
      -nowarn -d build main.scala)
    ;;
  groovy)
    flags=("${run_flags[@]}")
    printf 'def line = System.in.newReader().readLine()\nprintln "hello, ${line?.trim()}"\n' >"$work/main.groovy"
    (cd "$work" && "$jdk/bin/java" "${flags[@]}" "${archive[@]}" -cp "$classpath" groovy.ui.GroovyMain main.groovy </dev/null >/dev/null)
    ;;
  *)
    echo "jvm.sh: no archive recipe for $language" >&2
    exit 2
    ;;
esac
chmod a+r "$work/$language.jsa"
mv "$work/$language.jsa" "$dest/$language.jsa"
# The JVM that cannot map an archive says nothing unless told to insist: here it is, once.
"$jdk/bin/java" "${flags[@]}" -XX:SharedArchiveFile="$dest/$language.jsa" -Xshare:on -cp "$classpath" -version 2>/dev/null ||
  { echo "jvm.sh: the JVM does not map $dest/$language.jsa" >&2; exit 1; }
echo "$stamp" >"$dest/.installed"
chmod -R go-w,a+rX "$dest"
