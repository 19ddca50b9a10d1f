from django.apps import AppConfig


class TopologiesConfig(AppConfig):
    name = "playground.topologies"
    label = "topologies"
    verbose_name = "Topologies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from playground.topologies import checks  # noqa: F401  (registers the deploy check)
