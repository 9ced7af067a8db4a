"""System checks of the read side's settings: `manage.py check` (and every process as it starts)
refuses a TALLY_PROJECTION_PARTITIONS that names no projection or splits one that cannot be."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from projections.projectors import PROJECTORS


@register()
def partitions_configured(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for name, count in settings.TALLY_PROJECTION_PARTITIONS.items():
        projector = PROJECTORS.get(name)
        if projector is None:
            errors.append(
                Error(
                    f"TALLY_PROJECTION_PARTITIONS names {name!r}, which is no projection.",
                    hint=f"Known: {', '.join(PROJECTORS)}.",
                    id="projections.E001",
                )
            )
        elif count > 1 and not projector.partitionable:
            splittable = ", ".join(p.name for p in PROJECTORS.values() if p.partitionable)
            errors.append(
                Error(
                    f"TALLY_PROJECTION_PARTITIONS: {name} cannot be split into partitions.",
                    hint=f"These can: {splittable}.",
                    id="projections.E002",
                )
            )
    return errors
