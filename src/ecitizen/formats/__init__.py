"""Date formats of the platform (``FORMAT_MODULE_PATH``): one way of writing a date in
every language, the GOV.UK way ("7 November 2026", "7 November 2026, 14:30"), the same
as the templates write them with ``|date:"j F Y"``. Without these, a date formatted by
Django's default for English reads "Nov. 7, 2026" and Arabic puts a comma after the
month, so one page (or one message) would write dates two ways."""
