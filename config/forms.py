"""The project's form renderer: Django's own, except that a refused form's first field with an error
takes the focus when the page comes back (`autofocus`), so that a keyboard or screen-reader user lands
on what to fix, with JavaScript or without (htmx focuses `[autofocus]` in what it swaps in, too)."""

from __future__ import annotations

from typing import Any

from django.forms import BaseForm
from django.forms.boundfield import BoundField
from django.forms.renderers import DjangoTemplates


def first_invalid_field(form: BaseForm) -> str | None:
    """The name of the first visible field, in the form's order, that has an error."""
    if not form.is_bound:
        return None
    return next((name for name, f in form.fields.items() if name in form.errors and not f.widget.is_hidden), None)


class FirstErrorFocused(BoundField):
    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        if self.errors and first_invalid_field(self.form) == self.name:
            attrs["autofocus"] = True
        return attrs


class FormRenderer(DjangoTemplates):
    bound_field_class = FirstErrorFocused
