"""Pure engine: output checking of results before release (no Django).

A researcher sends the agency a draft report before it is published (step 5 of the process).
This package reads the tables in it (CSV, XLSX, and DOCX/PDF where tables can be read) and
checks each cell with the agency's rules, in the manner of SACRO/ACRO: a *block* is a cell that
must change before release (a count of 1-9, a percentage over a group under 10, a percentage
whose numerator back-calculates to 1-9), a *warn* is something a steward should look at
(zeros and 100 % near small groups, dominance in magnitude tables). Entry point:
:func:`scan_file`.
"""

from datashare.outputcheck.errors import ScanError
from datashare.outputcheck.findings import Finding, Severity
from datashare.outputcheck.readers import Limits, Table, read_tables
from datashare.outputcheck.rules import Rules, check_table
from datashare.outputcheck.scan import ScanReport, scan_bytes, scan_file

__all__ = [
    "Finding",
    "Limits",
    "Rules",
    "ScanError",
    "ScanReport",
    "Severity",
    "Table",
    "check_table",
    "read_tables",
    "scan_bytes",
    "scan_file",
]
