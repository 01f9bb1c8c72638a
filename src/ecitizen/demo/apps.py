from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "ecitizen.demo"
    label = "demo"
    verbose_name = "Demo authority"
