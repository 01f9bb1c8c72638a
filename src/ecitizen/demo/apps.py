from django.apps import AppConfig


class DemoConfig(AppConfig):
    """``ecitizen demo``: describes Riverton (``riverton.py``) and runs the demo loaders
    that each app registers from its own ``ready()`` (``docs/extending.md``). It
    registers none itself."""

    name = "ecitizen.demo"
    label = "demo"
    verbose_name = "Demo authority"
