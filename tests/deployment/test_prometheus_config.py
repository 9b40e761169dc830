"""Prometheus in compose (deploy/prometheus/): it scrapes every stage where the stages
serve their metrics, and its rules name metrics floodwatch really exports. The stack test
(test_compose_stack.py) loads both into a real Prometheus and sees a rule fire."""

from __future__ import annotations

import importlib
import re
from typing import Any

import yaml
from prometheus_client import REGISTRY

from tests.support import REPO_ROOT

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
STAGES = ("ingest", "forecast", "alerts", "notify", "api")
# Every module that defines metrics: importing them registers them.
METRIC_MODULES = ("floodwatch.ingest.metrics", "floodwatch.forecast.metrics",
                  "floodwatch.alerts.metrics",
                  "floodwatch.notify.metrics", "floodwatch.core.mqtt.session",
                  "floodwatch.api.service", "floodwatch.api.live", "floodwatch.api.hub",
                  "floodwatch.api.peer_connections", "floodwatch.api.connection_limits",
                  "floodwatch.api.sensorthings.routes")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",), "summary": ("_sum", "_count", "")}


def exported_series() -> set[str]:
    for module in METRIC_MODULES:
        importlib.import_module(module)
    return {metric.name + suffix for metric in REGISTRY.collect()
            for suffix in SUFFIXES.get(metric.type, ("",))}


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((PROMETHEUS / name).read_text())
    assert isinstance(document, dict)
    return document


def test_every_stage_is_scraped_on_its_compose_metrics_port() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    (job,) = load("prometheus.yml")["scrape_configs"]
    targets = {config["labels"]["stage"]: config["targets"]
               for config in job["static_configs"]}
    assert sorted(targets) == sorted(STAGES)
    for stage, addresses in targets.items():
        port = compose["services"][stage]["environment"]["FLOODWATCH_METRICS_PORT"]
        assert addresses == [f"{stage}:{port}"]
    service = compose["services"]["prometheus"]
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in service["volumes"]}
    assert mounted["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus/prometheus.yml"
    assert mounted["/etc/prometheus/alerts.yml"] == "./deploy/prometheus/alerts.yml"
    assert load("prometheus.yml")["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_every_rule_names_metrics_floodwatch_exports() -> None:
    exported = exported_series()
    rules = [rule for group in load("alerts.yml")["groups"] for rule in group["rules"]]
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        names = set(re.findall(r"\bfloodwatch_[a-z_]+", rule["expr"]))
        assert names <= exported, (rule["alert"], names - exported)
        assert rule["labels"]["severity"] in {"page", "ticket"}


def test_what_scaling_md_says_to_watch_has_a_rule() -> None:
    watched = set(re.findall(r"^\| `(floodwatch_[a-z_]+)`",
                             (REPO_ROOT / "docs" / "scaling.md").read_text(), re.M))
    expressions = " ".join(rule["expr"] for group in load("alerts.yml")["groups"]
                           for rule in group["rules"])
    assert watched
    assert {name for name in watched if name not in expressions} == set()
