"""The sending stage: every valid row to Help Scout exactly once (client, pacing, workers,
decisions, the ledger, the uploader, the results CSV). See docs/internals.md#exactly-once.
"""
