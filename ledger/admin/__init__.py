"""The event browser: a read-only Django admin over the event table, for auditors.

site.py is the admin site (who may enter), browser.py the event list, an event's page and the
stream view; filters.py, paging.py and rows.py are the list's filters, keyset paging and one-pass
table; timeline.py folds a stream for the stream view; readonly.py is the "nobody changes
anything" every ModelAdmin of Tally's shares.

Nothing is imported here: the admin site's own class is found through this package while the site
is being made, and a registration then would land on a site that is thrown away. The app config
(ledger.apps.TallyAdminConfig) imports browser once the site exists.
"""
