from ecitizen.core.csvcells import csv_cell


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("+44") == "'+44"
    assert csv_cell("-x") == "'-x"
    assert csv_cell("@sum") == "'@sum"
    assert csv_cell("\tx") == "'\tx"
    assert csv_cell(-5) == "-5"  # a number stays a number
    assert csv_cell(None) == ""
    assert csv_cell("North") == "North"
    assert csv_cell(True) == "true"
