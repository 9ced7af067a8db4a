"""The pager's links: the current query with another page number."""

from __future__ import annotations

from django import template

register = template.Library()

# Not carried to another page: the page itself, and the read-your-writes wait of the page a task
# led to (`after`, and `poll` of its own refreshes).
DROPPED = ("page", "after", "poll")


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, number: int) -> str:
    """`?q=ada&sort=owner&page=3` for page 3 of what the request shows."""
    query = context["request"].GET.copy()
    for name in DROPPED:
        query.pop(name, None)
    query["page"] = number
    return f"?{query.urlencode()}"
