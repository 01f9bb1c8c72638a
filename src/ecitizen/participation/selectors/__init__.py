"""Reads of the participation app, one module per area (``processes``, ``consultations``,
``proposals``, ``comments``, ``budgets``). Staff reads are confined by the remit: an
object's department is its process's, its ward the process's wards (or a proposal's or
heading's ward)."""
