from django.apps import AppConfig


class ProjectionsConfig(AppConfig):
    name = "projections"
    verbose_name = "Projections (read side)"

    def ready(self) -> None:
        # The write side knows nothing of the read side; the read side subscribes to its hook.
        from ledger.hooks import on_command_committed
        from projections.nudge import nudge

        on_command_committed(nudge)
