"""The reliability suite: a property-based fuzz over every operation of the three edges (issue 8, item 8).

    .venv/bin/pytest -q tests/reliability -k sqlite                       # the quick run `make test` makes
    FLEETSCAN_FUZZ_EXAMPLES=150 FLEETSCAN_FUZZ_REPORT=/tmp/fuzz.jsonl \\
        .venv/bin/pytest -q tests/reliability -m reliability              # a long run by hand, every failure kept

Modules: wire (requests and their signatures), mutations (one field at a time), catalogue (the 36 operations
and their baselines), world (what the baselines stand on), harness (one probe and its checks), tally (the
counts printed at the end of the session). The database digest is tests/support/digest.py.
"""
