"""The operations kit beside the manifests: the Grafana dashboard and the alert rules read metrics
the gateway really exposes, in PromQL that parses; the ServiceMonitor, PrometheusRule and
NetworkPolicies are well-formed; the Helm chart carries the same dashboard and rules and the
values a platform team sets; forwarded headers are believed from the ingress's range only."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import kubernetes_validate
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway.platform.rate_limiter import RateLimits, TooManyRequests
from mocks.processes import ROOT
from tests.conftest import faults
from tests.support.gateway import PERSONAS, Gateway, operation

DEPLOY = ROOT / "deploy"
MONITORING = DEPLOY / "monitoring"
CHART = DEPLOY / "helm" / "espace-client-gateway"
KUBERNETES = "1.31.0"
HELM_MISSING = "helm not on PATH; it builds with `go install helm.sh/helm/v4/cmd/helm@v4.3.2`"
# Grafana's variables, as a query would be sent to Prometheus
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "30s", "$namespace": ".*"}


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not on PATH (kustomize renders the monitoring kit)")
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def base() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            documents.extend(d for d in yaml.safe_load_all(path.read_text("utf-8")) if d)
    return documents


def of_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def rule_groups(path: Path) -> list[dict[str, Any]]:
    loaded = yaml.safe_load(path.read_text("utf-8"))
    groups: list[dict[str, Any]] = (
        loaded["spec"]["groups"] if "spec" in loaded else loaded["groups"]
    )
    return groups


def dashboard(path: Path = MONITORING / "grafana-dashboard.json") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return loaded


def expressions() -> dict[str, str]:
    """Every PromQL expression of the kit, by where it is: rules, then dashboard targets."""
    found = {}
    for path in (MONITORING / "prometheusrule.yaml", CHART / "files" / "prometheus-rules.yaml"):
        for group in rule_groups(path):
            for rule in group["rules"]:
                found[f"{path.relative_to(DEPLOY)} {rule['alert']}"] = rule["expr"]
    for path in (MONITORING / "grafana-dashboard.json", CHART / "files" / "grafana-dashboard.json"):
        for panel in dashboard(path)["panels"]:
            for target in panel.get("targets", []):
                found[f"{path.relative_to(DEPLOY)} {panel['title']} {target['refId']}"] = target[
                    "expr"
                ]
    return found


def as_sent(expression: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expression = expression.replace(variable, value)
    return expression


def metric_names(expression: str) -> set[str]:
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(as_sent(expression)), visit)
    return names


# ---- PromQL against the real /metrics ----------------------------------------------------------


def test_every_rule_and_panel_expression_is_valid_promql() -> None:
    found = expressions()
    assert len(found) >= 2 * (4 + 15)  # both copies: four alerts, the dashboard's targets
    for where, expression in found.items():
        try:
            promql_parser.parse(as_sent(expression))
        except ValueError as error:
            raise AssertionError(f"{where}: {error}\n{expression}") from None
    with pytest.raises(ValueError):  # the parser does refuse what Prometheus would
        promql_parser.parse("sum(rate(gateway_graphql_requests_total[5m])")


async def test_the_dashboard_and_alerts_read_metrics_the_gateway_exposes_after_traffic(
    gateway: Gateway,
) -> None:
    await gateway.run("HomePage", as_=PERSONAS["chris"])
    await gateway.run("HomePage", as_=PERSONAS["chris"])  # cache hits
    await gateway.http.post("/graphql", json={"query": operation("HomePage")})  # an error code
    breakers = gateway.app.state.services.backends.breakers
    breakers.policy.min_volume = 2
    await faults(gateway, "claims", error_rate=1.0, error_status=503)  # retries, then open
    await gateway.run("HomePage", as_=PERSONAS["paul"])
    limits = RateLimits.build(None)
    with pytest.raises(TooManyRequests):
        for _ in range(3):
            await limits.hit("2/minute", "ops-kit", "same")
    text = (await gateway.http.get("/metrics")).text
    exposed = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    used = set().union(*(metric_names(e) for e in expressions().values()))
    namespace_query = next(
        v for v in dashboard()["templating"]["list"] if v["name"] == "namespace"
    )["definition"]
    used |= set(re.findall(r"label_values\((\w+)", namespace_query))
    assert {"gateway_graphql_requests_total", "gateway_breaker_state"} <= used
    assert "gateway_admission_refusals_total" in used and "gateway_graphql_errors_total" in used
    missing = sorted(used - exposed)
    assert not missing, f"the kit reads metrics /metrics does not have: {missing}"


def test_the_dashboard_covers_what_operators_watch_and_is_provisioned_by_the_sidecar() -> None:
    board = dashboard()
    used = {
        name
        for panel in board["panels"]
        for target in panel.get("targets", [])
        for name in metric_names(target["expr"])
    }
    for family in (
        "gateway_graphql_requests_total",  # requests
        "gateway_graphql_errors_total",  # errors by code
        "gateway_graphql_request_duration_seconds_bucket",  # latency
        "gateway_backend_calls_total",
        "gateway_backend_call_duration_seconds_bucket",
        "gateway_breaker_state",
        "gateway_cache_hits_total",
        "gateway_rate_limit_refusals_total",
        "gateway_admission_refusals_total",
    ):
        assert family in used, family
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)) and board["uid"] == "espace-client-gateway"
    (configmap,) = of_kind(kustomize(MONITORING), "ConfigMap")
    kubernetes_validate.validate(configmap, KUBERNETES, strict=True)
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"]["espace-client-gateway.json"]) == board


def test_alerts_cover_errors_latency_breakers_and_admission() -> None:
    (group,) = rule_groups(MONITORING / "prometheusrule.yaml")
    alerts = {rule["alert"]: rule for rule in group["rules"]}
    assert set(alerts) == {
        "GatewayErrorRatioHigh",
        "GatewayLatencyP99High",
        "GatewayBreakerOpen",
        "GatewayAdmissionRefusals",
    }
    assert "histogram_quantile(0.99" in alerts["GatewayLatencyP99High"]["expr"]
    assert "== 2" in alerts["GatewayBreakerOpen"]["expr"]  # open, not half-open
    for rule in alerts.values():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


# ---- the Prometheus operator's resources -------------------------------------------------------

DURATION = (
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "labels": {"type": "object"}},
}
# The fields of monitoring.coreos.com/v1 this kit uses, as the operator's CRDs declare them
# (prometheus-operator v0.7x: servicemonitors / prometheusrules openAPIV3Schema), closed.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "required": ["selector"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        }
                    },
                },
                "namespaceSelector": {"type": "object"},
                "endpoints": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": DURATION},
                        },
                    },
                },
            },
        },
    },
}
PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": {"type": "string", "pattern": DURATION},
                            "rules": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "alert": {"type": "string"},
                                        "record": {"type": "string"},
                                        "expr": {"type": "string"},
                                        "for": {"type": "string", "pattern": DURATION},
                                        "keep_firing_for": {"type": "string", "pattern": DURATION},
                                        "labels": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                        "annotations": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
    },
}


def test_the_service_monitor_and_the_rules_match_the_operators_schema_and_the_service() -> None:
    rendered = kustomize(MONITORING)
    (monitor,) = of_kind(rendered, "ServiceMonitor")
    (rules,) = of_kind(rendered, "PrometheusRule")
    jsonschema.validate(monitor, SERVICE_MONITOR)
    jsonschema.validate(rules, PROMETHEUS_RULE)
    broken = json.loads(json.dumps(rules))
    broken["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"
    with pytest.raises(jsonschema.ValidationError):  # the schema does look
        jsonschema.validate(broken, PROMETHEUS_RULE)
    (service,) = [s for s in of_kind(base(), "Service") if s["metadata"]["name"] == "gateway"]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


# ---- NetworkPolicy and forwarded headers -------------------------------------------------------


def test_network_policies_admit_the_ingress_only_and_let_out_back_ends_redis_and_dns() -> None:
    documents = base()
    policies = {p["metadata"]["name"]: p for p in of_kind(documents, "NetworkPolicy")}
    for policy in policies.values():
        kubernetes_validate.validate(policy, KUBERNETES, strict=True)
    gateway = policies["gateway"]["spec"]
    deployments = {d["metadata"]["name"]: d for d in of_kind(documents, "Deployment")}
    pod_labels = deployments["gateway"]["spec"]["template"]["metadata"]["labels"]
    redis_labels = deployments["gateway-redis"]["spec"]["template"]["metadata"]["labels"]
    assert gateway["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(gateway["policyTypes"]) == {"Ingress", "Egress"}
    sources = [peer for rule in gateway["ingress"] for peer in rule["from"]]
    namespaces = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in sources
    }
    assert namespaces == {"ingress-nginx", "monitoring"}  # nothing else reaches the pods
    assert all(set(peer) == {"namespaceSelector"} for peer in sources)
    egress = {json.dumps(rule["to"], sort_keys=True): rule["ports"] for rule in gateway["egress"]}
    assert len(egress) == 3
    ports = {port["port"] for rule in gateway["egress"] for port in rule["ports"]}
    assert ports == {443, 6379, 53}
    (to_redis,) = [
        r
        for r in gateway["egress"]
        if "podSelector" in r["to"][0] and "namespaceSelector" not in r["to"][0]
    ]
    assert to_redis["to"][0]["podSelector"]["matchLabels"].items() <= redis_labels.items()
    redis = policies["gateway-redis"]["spec"]
    assert redis["podSelector"]["matchLabels"].items() <= redis_labels.items()
    assert (
        redis["ingress"][0]["from"][0]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    )


async def test_forwarded_headers_are_believed_from_the_ingress_range_only() -> None:
    configured = yaml.safe_load((DEPLOY / "configmap.yaml").read_text("utf-8"))["data"]
    allowed = configured["FORWARDED_ALLOW_IPS"]
    assert allowed != "*"
    values = yaml.safe_load((CHART / "values.yaml").read_text("utf-8"))
    assert values["forwardedAllowIps"] == allowed

    async def echo(scope: Any, receive: Any, send: Any) -> None:
        body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    app = ProxyHeadersMiddleware(echo, trusted_hosts=allowed)  # what uvicorn wraps the app in
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    seen = {}
    for peer in ("10.244.3.17", "192.0.2.50", "172.17.0.1"):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            seen[peer] = (await http.get("/", headers=headers)).json()
    assert seen["10.244.3.17"] == {"client": "203.0.113.9", "scheme": "https"}  # an ingress pod
    assert seen["192.0.2.50"]["client"] == "192.0.2.50"  # anything else is not believed
    assert seen["172.17.0.1"]["client"] == "172.17.0.1"


# ---- the Helm chart ----------------------------------------------------------------------------


def test_the_chart_carries_the_kits_dashboard_and_rules_and_a_platform_teams_values() -> None:
    assert dashboard(CHART / "files" / "grafana-dashboard.json") == dashboard()
    assert rule_groups(CHART / "files" / "prometheus-rules.yaml") == rule_groups(
        MONITORING / "prometheusrule.yaml"
    )
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text("utf-8"))
    assert chart["apiVersion"] == "v2" and chart["name"] == "espace-client-gateway"
    values = yaml.safe_load((CHART / "values.yaml").read_text("utf-8"))
    assert {"repository", "tag", "pullPolicy"} <= set(values["image"])
    for key in ("replicaCount", "resources", "env", "secrets", "existingSecret"):
        assert key in values, key
    assert {"url", "deploy"} <= set(values["redis"]) and "otlpEndpoint" in values
    assert values["persistedOnly"] is True and values["forwardedAllowIps"]
    configmap = (CHART / "templates" / "configmap.yaml").read_text("utf-8")
    for variable in (
        "GATEWAY_REDIS_URL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "GATEWAY_PERSISTED_ONLY",
        "FORWARDED_ALLOW_IPS",
        "PROMETHEUS_MULTIPROC_DIR",
    ):
        assert f"{variable}:" in configmap, variable
    shipped = yaml.safe_load((DEPLOY / "secret.yaml").read_text("utf-8"))["stringData"]
    assert set(values["secrets"]) == set(shipped)  # the same credentials as the kustomize base


def helm() -> str:
    found = shutil.which("helm")
    if found is None:
        pytest.skip(HELM_MISSING)
    return found


def test_helm_lint_passes() -> None:
    done = subprocess.run([helm(), "lint", "--strict", str(CHART)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_helm_template_renders_manifests_kubernetes_accepts() -> None:
    enabled = ["serviceMonitor.enabled=true", "prometheusRule.enabled=true"]
    enabled += ["grafanaDashboard.enabled=true", "otlpEndpoint=http://collector:4318"]
    done = subprocess.run(
        [helm(), "template", "gw", str(CHART), *(f"--set={v}" for v in enabled)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    documents = [d for d in yaml.safe_load_all(done.stdout) if d]
    kinds = sorted(d["kind"] for d in documents)
    assert kinds.count("Deployment") == 2 and "NetworkPolicy" in kinds
    for document in documents:
        if document["kind"] == "ServiceMonitor":
            jsonschema.validate(document, SERVICE_MONITOR)
        elif document["kind"] == "PrometheusRule":
            jsonschema.validate(document, PROMETHEUS_RULE)
            assert document["spec"]["groups"] == rule_groups(MONITORING / "prometheusrule.yaml")
        else:
            kubernetes_validate.validate(document, KUBERNETES, strict=True)
    (configmap,) = [
        d
        for d in documents
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "gw-espace-client-gateway-config"
    ]
    assert configmap["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4318"
    assert configmap["data"]["GATEWAY_REDIS_URL"] == "redis://gw-espace-client-gateway-redis:6379/0"
