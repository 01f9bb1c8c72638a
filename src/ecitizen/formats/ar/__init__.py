"""See ecitizen.formats."""
