"""The ledger's domain: events, commands, rules and the Account aggregate. Plain Python, no Django."""
