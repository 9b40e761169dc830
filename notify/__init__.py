"""Alert delivery: alert events from the bus to the disaster network, webhooks, X and
Mastodon, through a durable SQLite delivery ledger (see docs/notify.md)."""
