"""The container files agree with `make cluster` (fast; the images themselves: `make image`, `make image-smoke`)."""

from __future__ import annotations

import re

import yaml

from knowledge.settings import ROOT
from serving.cluster import compose_nginx

DOCKER = ROOT / "docker"


def test_the_compose_nginx_conf_is_the_cluster_template_rendered_for_the_compose_services() -> None:
    """Regenerate with: python -c 'from serving.cluster import compose_nginx; print(compose_nginx(), end="")' >
    docker/nginx.conf"""
    assert (DOCKER / "nginx.conf").read_text() == compose_nginx()


def test_compose_runs_every_server_nginx_names() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yml").read_text())
    services = set(compose["services"])
    upstreams = set(re.findall(r"server ([\w-]+):\d+ ", (DOCKER / "nginx.conf").read_text()))
    assert upstreams <= services, upstreams - services
    assert {"postgres", "redis", "nginx"} <= services
    rasa = [s for s in services if s.startswith("rasa-")]
    assert len(rasa) == 2  # make cluster's default RASA_SERVERS
    for name in rasa:
        env = compose["services"][name]["environment"]
        assert env["ACTIONS_HOST"] == "nginx" and env["DB_HOST"] == "postgres" and env["REDIS_HOST"] == "redis"


def test_the_dockerfile_takes_its_base_image_and_ca_certificates_from_the_build() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=", text, re.MULTILINE)
    assert text.count("FROM ${BASE_IMAGE}") == 2  # the servers' common stage and infra
    assert "--mount=type=secret,id=extra_ca" in text
    assert "-r requirements.lock" in text
    for target in ("rasa", "actions", "infra"):
        assert re.search(rf"^FROM \S+ AS {target}$", text, re.MULTILINE), target
