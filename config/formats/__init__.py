"""Django format modules (settings.FORMAT_MODULE_PATH): Tally's one way of showing dates and times."""
