"""The moto server the benchmarks start: `python -m moto.server` with one speed-up.

moto 5.2 serializes every response by walking the botocore shape model node by node, and sizes
every item it returns the same way. For our task items (~2.8 KB, nine nested buttons) that costs
about 10 ms per item: a BatchGetItem of 100 tasks took ~1 s in moto where DynamoDB answers in
milliseconds, so the stand-in would dominate every read-heavy figure. Two speed-ups, same
results: an `AttributeValue` that moto hands to the serializer is already in its wire form
({"S": ...}, {"M": {...}}, ...), so it is copied as is instead of walked (unless it holds binary,
which takes moto's own path); and DynamoType.size() runs the same rules without building a new
object per nested value. Nothing else changes.
bench/README.md explains this. Every start first checks that both paths give identical
responses for a realistic item (`--check` runs only that).

    python bench/moto_fast.py -H 127.0.0.1 -p PORT      (same arguments as moto_server)
    python bench/moto_fast.py --check
"""

from __future__ import annotations

import sys

from mjproxy.local.moto_speedups import check, install

if __name__ == "__main__":
    check()  # every start: refuse to serve if the two paths ever disagree
    if sys.argv[1:] != ["--check"]:
        install()
        from moto.server import main

        main(sys.argv[1:])
