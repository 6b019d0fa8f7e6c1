"""What people read after a command: validation reports, the rows to fix, the results page, the
summary JSON, and the page shell they share. See docs/internals.md#reports.
"""
