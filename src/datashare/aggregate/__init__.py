"""Aggregate builder: report-card tables from the student-level source, ready for suppression.

A pure engine (no Django): :mod:`.definitions` defines every standard table as data (measure,
dimensions, SQL), :mod:`.build` runs it with DuckDB over the source's Parquet files and returns
the long-format frame plus the hierarchy spec the disclosure engine takes, and :mod:`.publish`
suppresses and audits it with :mod:`datashare.disclosure`.
"""
