"""Delivery channels: the disaster network (MQTT), webhooks, X and Mastodon."""
