"""Building the configured channels, with one line per configuration problem.

A channel with a problem (missing credentials, an invalid URL or topic) is left out
and reported; the others run. An unreachable disaster-network broker is reported too,
but that channel stays: its deliveries wait in the delivery ledger until the broker is
back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from floodwatch.core.mqtt import MqttError
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.notify.channels.base import ChannelProblem
from floodwatch.notify.channels.mastodon import MastodonPlatform, mastodon_client
from floodwatch.notify.channels.network import NetworkChannel, network_address, topic_problem
from floodwatch.notify.channels.social import Platform
from floodwatch.notify.channels.webhook import (
    WebhookChannel,
    channel_name,
    parse_secrets,
    url_problem,
)
from floodwatch.notify.channels.x import XPlatform, x_client
from floodwatch.notify.compose import Composer, Fits, fits_mastodon, fits_x
from floodwatch.notify.config import NotifyConfig, Social
from floodwatch.notify.policy import Audience, Route


@dataclass
class Channels:
    network: NetworkChannel | None = None
    webhooks: list[WebhookChannel] = field(default_factory=list)
    social: list[tuple[Platform, Social, Composer]] = field(default_factory=list)
    problems: list[ChannelProblem] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [route.channel for route in self.routes]


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _network_channel(settings: Settings, config: NotifyConfig, registry: StationRegistry,
                     problems: list[ChannelProblem]) -> NetworkChannel | None:
    topics = (config.network.cap_topic, config.network.json_topic,
              config.network.status_topic, config.network.edxl_topic)
    topic_problems = [problem for problem in map(topic_problem, filter(None, topics))
                      if problem]
    if topic_problems:
        problems += [ChannelProblem("network", problem) for problem in topic_problems]
        return None
    try:
        return NetworkChannel(network_address(settings), settings.notify_network_client_id,
                              config.network, settings.mqtt_keepalive_s, registry)
    except MqttError as exc:  # e.g. a CA file that cannot be read
        problems.append(ChannelProblem("network", str(exc)))
        return None


def build_channels(settings: Settings, config: NotifyConfig, registry: StationRegistry,
                   http: httpx.AsyncClient) -> Channels:
    channels = Channels()
    problems = channels.problems
    if config.network.enabled:
        channels.network = _network_channel(settings, config, registry, problems)
        if channels.network is not None:
            channels.routes.append(Route("network", "all", config.network.retry, False))

    secrets = parse_secrets(_secret(settings.notify_webhook_secrets) or "")
    for hook in config.webhooks:
        name = channel_name(hook)
        problem = url_problem(hook.url)
        if problem is None and hook.name not in secrets:
            problem = (f"no key for {hook.name!r} in FLOODWATCH_NOTIFY_WEBHOOK_SECRETS "
                       "(name:secret)")
        if problem is not None:
            problems.append(ChannelProblem(name, problem))
            continue
        channels.webhooks.append(WebhookChannel(hook, secrets[hook.name], http, registry))
        # An EDXL-DE webhook is a partner's: only Public CAP (docs/edxl.md).
        audience: Audience = ("public" if hook.format == "edxl" and hook.events == "all"
                              else hook.events)
        channels.routes.append(Route(name, audience, hook.retry, hook.format == "json"))

    def composer(social: Social, fits: Fits) -> Composer:
        return Composer(config.templates, social, registry, config.basins, fits,
                        config.public_page_url)

    if config.x.enabled:
        names = ("notify_x_consumer_key", "notify_x_consumer_secret", "notify_x_access_token",
                 "notify_x_access_token_secret")
        values = [_secret(getattr(settings, name)) for name in names]
        missing = [f"FLOODWATCH_{name.upper()}" for name, value in zip(names, values,
                                                                       strict=True) if not value]
        if missing:
            problems.append(ChannelProblem("x", f"missing credentials: {', '.join(missing)}"))
        else:
            key, key_secret, token, token_secret = (value or "" for value in values)
            client = x_client(str(settings.notify_x_api_url), settings.notify_http_timeout_s,
                              consumer_key=key, consumer_secret=key_secret,
                              access_token=token, access_token_secret=token_secret)
            channels.social.append((XPlatform(client), config.x, composer(config.x, fits_x)))
            channels.routes.append(Route("x", "social", config.x.retry, True))

    if config.mastodon.enabled:
        mastodon_token = _secret(settings.notify_mastodon_token)
        if settings.notify_mastodon_url is None or not mastodon_token:
            missing = [name for name, value in (
                ("FLOODWATCH_NOTIFY_MASTODON_URL", settings.notify_mastodon_url),
                ("FLOODWATCH_NOTIFY_MASTODON_TOKEN", mastodon_token)) if not value]
            problems.append(ChannelProblem("mastodon", f"missing {', '.join(missing)}"))
        else:
            platform = MastodonPlatform(mastodon_client(
                str(settings.notify_mastodon_url).rstrip("/"), mastodon_token,
                settings.notify_http_timeout_s), config.mastodon.languages[0])
            channels.social.append((platform, config.mastodon,
                                    composer(config.mastodon, fits_mastodon)))
            channels.routes.append(Route("mastodon", "social", config.mastodon.retry, True))
    return channels
