"""The ground floor: what every stage shares (errors, text, redaction, safe CSV cells, the output
guard, options, the issues frame); it imports no other package of the importer.
"""
