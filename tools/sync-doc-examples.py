#!/usr/bin/env python3
"""Copies the Java examples of the docs into the consumer integration test.

Each ```java block of README.md and <module>/*.md is run by consumer-it/src/it/readme-examples between
"// example DOC#N" and "// end example" (ExamplesMatchDocsTest fails the build when the two differ). After
editing an example in the docs, run this to refresh those regions; a new example gets a place in a test by
writing the line "//@@ DOC#N" there (its variables set up above it) and running this again.

    tools/sync-doc-examples.py
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = ROOT / "consumer-it/src/it/readme-examples/src/test/java"
MARKER = re.compile(r"^(\s*)(?://@@ |// example )(\S+)#(\d+)$")
END = re.compile(r"^\s*// end example$")


def java_blocks(doc):
    return re.findall(r"^```java\n(.*?)^```", (ROOT / doc).read_text(encoding="utf-8"), re.S | re.M)


def refreshed(text):
    out, skipping = [], False
    for line in text.split("\n"):
        if skipping:
            skipping = not END.match(line)
            continue
        m = MARKER.match(line)
        if not m:
            out.append(line)
            continue
        skipping = line.strip().startswith("// example")
        indent, doc, n = m.group(1), m.group(2), int(m.group(3))
        body = java_blocks(doc)[n - 1].rstrip("\n").split("\n")
        while body and (body[0].startswith("import ") or not body[0].strip()):
            body.pop(0)  # the test file imports these itself
        out.append(f"{indent}// example {doc}#{n}")
        out.extend((indent + line).rstrip() for line in body)
        out.append(f"{indent}// end example")
    return "\n".join(out)


for source in sorted(SOURCES.rglob("*.java")):
    text = source.read_text(encoding="utf-8")
    new = refreshed(text)
    if new != text:
        source.write_text(new, encoding="utf-8")
        print(f"updated {source.relative_to(ROOT)}")
