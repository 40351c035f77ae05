"""Report rows against Salesforce records, with no I/O: pair rows with records, coerce values to
field types, diff against current values, and turn write results into one bucket per row."""
