#!/usr/bin/env bash
# Deploys the build to a file repository and checks what a release would publish: for each library module its
# jar (with an Automatic-Module-Name), sources jar, Javadoc jar, POM (with name and description) and CycloneDX
# SBOM; the parent POM with the licence, SCM and developer metadata its modules inherit; and the BOM. Every
# third-party runtime dependency listed in a jar's THIRD-PARTY.txt must be named in NOTICE.
#
#   tools/check-deploy.sh [DIR]      (default DIR: target/deploy-check; JDK 25 on JAVA_HOME or PATH)
#
# Exits 0 and prints one line per artifact when everything is there, 1 with what is missing otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(realpath -m "${1:-target/deploy-check}")"
rm -rf "$repo"
version="$(sed -n 's#^  <version>\(.*\)</version>$#\1#p' pom.xml | head -1)"
echo "deploying $version to $repo"
mvn -B -ntp -q deploy -DskipTests -DaltDeploymentRepository="local::file:$repo" >"$repo.log" 2>&1 \
    || { tail -50 "$repo.log"; echo "mvn deploy failed (log: $repo.log)"; exit 1; }

missing=0
# The newest file of an artifact with this suffix (snapshots are deployed with a timestamp in the name).
artifact() {
    local dir="$repo/dev/finetune4j/$1/$version"
    ls -1 "$dir"/"$1"-*"$2" 2>/dev/null | grep -v -- "-[a-z][a-z]*$2\$" | sort | tail -1 || true
}
classified() {
    ls -1 "$repo/dev/finetune4j/$1/$version"/"$1"-*"$2" 2>/dev/null | sort | tail -1 || true
}
check() {  # check DESCRIPTION FILE [GREP-PATTERN-IN-CONTENT via COMMAND]
    local what="$1" file="$2"
    if [ -z "$file" ] || [ ! -s "$file" ]; then
        echo "MISSING $what"; missing=1
    else
        echo "ok      $what: ${file#"$repo"/}"
    fi
}
contains() {  # contains DESCRIPTION FILE PATTERN
    if [ -n "$2" ] && grep -q -- "$3" "$2"; then echo "ok      $1"; else echo "MISSING $1"; missing=1; fi
}

for module in core peft data eval samples; do
    a="finetune4j-$module"
    jar="$(artifact "$a" .jar)"
    check "$a jar" "$jar"
    check "$a sources" "$(classified "$a" -sources.jar)"
    check "$a javadoc" "$(classified "$a" -javadoc.jar)"
    check "$a SBOM" "$(classified "$a" -cyclonedx.json)"
    pom="$(artifact "$a" .pom)"
    check "$a POM" "$pom"
    contains "$a POM has a name and a description" "$pom" "<description>"
    if [ -n "$jar" ]; then
        name="$(unzip -p "$jar" META-INF/MANIFEST.MF | tr -d '\r' | sed -n 's/^Automatic-Module-Name: //p')"
        if [ "$name" = "dev.finetune4j.$module" ]; then echo "ok      $a Automatic-Module-Name $name";
        else echo "MISSING $a Automatic-Module-Name dev.finetune4j.$module (found '$name')"; missing=1; fi
    fi
    if [ -n "$jar" ]; then
        for dep in $(unzip -p "$jar" THIRD-PARTY.txt | sed -n 's/.*(\([^ :()]*\):\([^ :()]*\):[^ ]* - .*/\2/p'); do
            case "$dep" in finetune4j-*) continue ;; esac
            grep -qw -- "$dep" NOTICE || { echo "MISSING $dep (a runtime dependency of $a) in NOTICE"; missing=1; }
        done
    fi
    sbom="$(classified "$a" -cyclonedx.json)"
    contains "$a SBOM describes $a" "$sbom" "\"name\" : \"$a\""
done

parent="$(artifact finetune4j-parent .pom)"
check "finetune4j-parent POM" "$parent"
for tag in '<url>' '<licenses>' 'Apache-2.0' '<scm' '<developers>'; do
    contains "finetune4j-parent POM has $tag" "$parent" "$tag"
done
bom="$(artifact finetune4j-bom .pom)"
check "finetune4j-bom POM" "$bom"
for module in core peft data eval samples; do
    contains "finetune4j-bom pins finetune4j-$module" "$bom" "<artifactId>finetune4j-$module</artifactId>"
done
for unpublished in finetune4j-benchmarks finetune4j-consumer-it; do
    if [ -d "$repo/dev/finetune4j/$unpublished" ]; then echo "UNEXPECTED $unpublished was published"; missing=1; fi
done

if [ "$missing" -ne 0 ]; then
    echo "deploy check FAILED"; exit 1
fi
echo "deploy check passed: $repo"
