"""Bulk-create Help Scout customers from CSV files."""

__version__ = "0.1.0"
