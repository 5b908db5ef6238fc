"""datashare: student data sharing for a state education agency."""
