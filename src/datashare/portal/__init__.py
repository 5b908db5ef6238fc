"""The public data portal: published, suppressed aggregate tables and custom aggregate requests."""
