from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "ecitizen.demo"
    label = "demo"
    verbose_name = "Demo authority"

    def ready(self) -> None:
        from ecitizen.core.registry import DemoLoader, registry
        from ecitizen.demo import services as demo

        # Riverton's parts that this app holds for the apps built before the registry; a
        # new app registers its own part from its own ready() (docs/extending.md).
        for loader in (
            DemoLoader("people", demo.demo_people_load),
            DemoLoader("cases", demo.demo_cases_part, after=("people",)),
            DemoLoader("fines", demo.demo_fines_part, after=("cases",)),
            DemoLoader("property_tax", demo.demo_property_tax_part, after=("fines",)),
        ):
            registry.register_demo_loader(loader)
