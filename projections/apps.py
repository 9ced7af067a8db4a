from django.apps import AppConfig


class ProjectionsConfig(AppConfig):
    name = "projections"
    verbose_name = "Projections (read side)"

    def ready(self) -> None:
        # The write side knows nothing of the read side; the read side subscribes to its hook.
        from ledger.hooks import on_command_committed, on_event_shown, on_owner_search
        from projections import checks  # noqa: F401 - registers the settings' system checks
        from projections.consumption import event_consumption
        from projections.nudge import nudge
        from projections.queries import accounts_of_owner

        on_command_committed(nudge)
        on_event_shown(event_consumption)
        on_owner_search(accounts_of_owner)
