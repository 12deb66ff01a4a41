"""Static checks of the Docker deployment: docker-compose.yml, Dockerfile, Prometheus, Grafana.

No Docker daemon is needed: the files are parsed and cross-checked against the code they
configure (the KVT_* settings, the detector's commands and its Prometheus metric names).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from detector.common.settings import Settings, load_settings
from detector.telemetry import Telemetry

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"

ONE_SHOTS = {
    "topics",
    "migrate",
    "admin",
    "demo",
}  # run to completion; everything else has a healthcheck
PROJECT_IMAGE = "kivendtout-fraud-desk:local"
DETECTOR_RUN = ["python", "-m", "detector", "run"]


# --------------------------------------------------------------------------- helpers


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]


REQUIRED = re.compile(r"\$\{(\w+):\?[^}]*\}")


def _interpolate(value: object) -> str:
    """Compose's ``${VAR:-default}`` with an empty environment, and ``${VAR:?error}``
    (required: no default) as the placeholder ``required``."""
    text = str(value).replace("$$", "\0")
    text = REQUIRED.sub("required", text)
    text = re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", text)
    return text.replace("\0", "$")


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {k: _interpolate(v) for k, v in env.items()}


def _depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def _project_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in _services().items() if s.get("image") == PROJECT_IMAGE}


def _kafka_services() -> dict[str, dict[str, Any]]:
    return {
        n: s for n, s in _services().items() if str(s.get("image", "")).startswith("apache/kafka:")
    }


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` -> {NAME: (host, port)}."""
    out = {}
    for item in value.split(","):
        name, _, rest = item.strip().partition("://")
        host, _, port = rest.rpartition(":")
        out[name] = (host, int(port))
    return out


def _published(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port, from ``[ip:]host:container`` short syntax."""
    out = {}
    for spec in service.get("ports") or []:
        parts = str(spec).split(":")
        out[int(parts[-1])] = int(parts[-2])
    return out


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


# --------------------------------------------------------------------------- compose


def test_compose_is_a_compose_spec_file() -> None:
    compose = _compose()
    assert "version" not in compose, "the compose spec has no top-level version key"
    assert set(_services()) >= {
        "kafka-1",
        "kafka-2",
        "kafka-3",
        "topics",
        "postgres",
        "migrate",
        "mongo",
        "detector",
        "app",
        "demo",
        "kafka-ui",
        "prometheus",
        "grafana",
    }
    named = set(compose.get("volumes") or {})
    for name, service in _services().items():
        assert "image" in service, f"{name}: no image"
        for vol in service.get("volumes") or []:
            source = str(vol).split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: bind source {source} is missing"
            else:
                assert source in named, f"{name}: volume {source} is not declared"


def test_every_service_has_a_healthcheck_or_is_a_one_shot_job() -> None:
    for name, service in _services().items():
        hc = service.get("healthcheck") or {}
        if name in ONE_SHOTS:
            assert service.get("restart") == "no", f"{name}: a one-shot job must not restart"
            continue
        assert service.get("restart") != "no", f"{name}: long-running, should restart"
        assert not hc.get("disable") and hc.get("test"), f"{name}: no healthcheck"
        assert hc["test"][0] in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck test form"


def test_depends_on_targets_exist_and_conditions_fit() -> None:
    services = _services()
    for name, service in services.items():
        for dep, condition in _depends(service).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            target = services[dep]
            if condition == "service_healthy":
                assert (target.get("healthcheck") or {}).get("test"), f"{name}: {dep} has no check"
            elif condition == "service_completed_successfully":
                assert dep in ONE_SHOTS, f"{name}: {dep} is not a one-shot job"
            else:
                pytest.fail(f"{name} -> {dep}: use service_healthy / _completed_successfully")
            if not service.get("profiles"):
                assert not target.get("profiles"), f"{name} needs {dep}, which has a profile"

    # no cycles
    state: dict[str, int] = {}

    def visit(n: str) -> None:
        assert state.get(n) != 1, f"dependency cycle through {n}"
        if state.get(n) == 2:
            return
        state[n] = 1
        for d in _depends(services[n]):
            visit(d)
        state[n] = 2

    for n in services:
        visit(n)


def test_three_kraft_nodes_form_one_consistent_quorum() -> None:
    kafka = _kafka_services()
    assert len(kafka) == 3
    envs = {name: _env(s) for name, s in kafka.items()}
    ids = {name: int(env["KAFKA_NODE_ID"]) for name, env in envs.items()}
    assert sorted(ids.values()) == [1, 2, 3]

    for key in ("CLUSTER_ID", "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_CONTROLLER_LISTENER_NAMES"):
        assert len({env[key] for env in envs.values()}) == 1, f"{key} differs between nodes"
    cluster_id = next(iter(envs.values()))["CLUSTER_ID"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id), "CLUSTER_ID: 16 bytes, base64url"

    voters = {}
    for voter in next(iter(envs.values()))["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","):
        node_id, _, address = voter.partition("@")
        host, _, port = address.rpartition(":")
        voters[host] = (int(node_id), int(port))
    assert set(voters) == set(kafka), "every node is a voter, and only the nodes"

    bootstrap = []
    for name, env in envs.items():
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        listeners = _listeners(env["KAFKA_LISTENERS"])
        advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
        protocols = dict(
            p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
        )
        controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
        inter = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
        assert set(listeners) <= set(protocols)
        assert voters[name] == (ids[name], listeners[controller][1]), f"{name}: voter entry"
        assert controller not in advertised, f"{name}: the controller listener is not advertised"
        assert inter in listeners and advertised[inter] == (name, listeners[inter][1])
        bootstrap.append(f"{name}:{listeners[inter][1]}")
        # the host listener is advertised on the port published for it
        host_only = set(advertised) - {inter}
        for listener in host_only:
            host, port = advertised[listener]
            assert _published(kafka[name])[listeners[listener][1]] == port, f"{name}: {listener}"
        assert env["KAFKA_LOG_DIRS"] in {str(v).split(":")[1] for v in kafka[name]["volumes"]}
        for key in (
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
            "KAFKA_DEFAULT_REPLICATION_FACTOR",
        ):
            assert env[key] == "3", f"{name}: {key}"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"

    # every client of the cluster knows all three nodes on the inter-broker listener
    for name, service in _project_services().items():
        assert sorted(_env(service)["KVT_KAFKA_BOOTSTRAP"].split(",")) == sorted(bootstrap), name
    ui = _env(_services()["kafka-ui"])
    assert sorted(ui["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"].split(",")) == sorted(bootstrap)


def test_topic_job_creates_replicated_topics_once_the_brokers_are_healthy() -> None:
    job = _services()["topics"]
    assert _command(job) == ["python", "-m", "detector", "topics"]
    assert _depends(job) == dict.fromkeys(_kafka_services(), "service_healthy")
    settings = load_settings(env=_env(job), secrets_file=ROOT / "no-such-secrets.toml")
    assert settings.topic_replication == 3
    assert settings.topic_partitions == 3
    # data_gen.kafka_admin.ensure_topics sets min.insync.replicas = min(2, replication)
    assert min(2, settings.topic_replication) == 2
    for name in ("app", "detector"):
        assert _depends(_services()[name])["topics"] == "service_completed_successfully"


def test_project_services_are_configured_only_by_real_settings() -> None:
    known = {"KVT_" + f.name.upper() for f in fields(Settings) if f.name != "kafka_options"}
    project = _project_services()
    assert set(project) == {
        "topics", "migrate", "admin", "detector", "archiver", "app", "api", "demo"
    }  # fmt: skip
    for name, service in project.items():
        env = _env(service)
        for key in env:
            if name == "admin" and key.startswith("DESK_ADMIN_"):
                continue  # the first account's name and password: input of the job, not settings
            assert key in known or key.startswith("KVT_KAFKA_OPT_"), f"{name}: {key} is no setting"
        # every value converts (ints are ints, ...) and the stack is not the embedded mode
        settings = load_settings(env=env, secrets_file=ROOT / "no-such-secrets.toml")
        assert not settings.embedded
        assert settings.db_url.startswith("postgresql+psycopg2://") and "@postgres:5432/" in (
            settings.db_url
        )
        assert settings.mongo_url.startswith("mongodb://") and "@mongo:27017" in settings.mongo_url


def test_the_api_is_a_service_on_port_8000() -> None:
    api = _services()["api"]
    assert _command(api) == ["python", "-m", "api", "--host", "0.0.0.0", "--port", "8000",
                            "--workers", "2"]  # fmt: skip
    assert api["ports"] == ["127.0.0.1:8000:8000"]
    assert _depends(api)["migrate"] == "service_completed_successfully"
    assert "8000/health" in " ".join(api["healthcheck"]["test"])


def test_the_archiver_is_a_service_of_its_own_beside_the_detector() -> None:
    """Issue 16: archiving in the detector's batches made it 5x slower as deployed."""
    archiver = _services()["archiver"]
    assert _command(archiver) == ["python", "-m", "detector", "archive"]
    deps = _depends(archiver)
    assert deps["mongo"] == "service_healthy"
    assert deps["topics"] == deps["migrate"] == "service_completed_successfully"
    port = int(_env(archiver)["KVT_METRICS_PORT"])
    assert port != int(_env(_services()["detector"])["KVT_METRICS_PORT"])
    assert f"http://127.0.0.1:{port}/metrics" in " ".join(archiver["healthcheck"]["test"])
    prometheus = (ROOT / "deploy" / "prometheus.yml").read_text(encoding="utf-8")
    assert f"archiver:{port}" in prometheus


def test_app_and_detector_commands_ports_and_healthchecks() -> None:
    services = _services()
    app, detector = services["app"], services["detector"]
    assert _command(app)[:3] == ["streamlit", "run", "serve.py"]
    assert "--server.address=0.0.0.0" in _command(app)
    assert "--server.port=8501" in _command(app)
    assert "http://127.0.0.1:8501/_stcore/health" in " ".join(app["healthcheck"]["test"])
    assert _published(app) == {8501: 8501}

    assert _command(detector) == DETECTOR_RUN
    port = int(_env(detector)["KVT_METRICS_PORT"])
    assert port == 9108
    assert f"http://127.0.0.1:{port}/metrics" in " ".join(detector["healthcheck"]["test"])

    demo = services["demo"]
    assert demo.get("profiles") == ["demo"]
    script = " ".join(_command(demo))
    assert "python -m data_gen generate --out /data/ds" in script
    assert re.search(r"python -m data_gen stream /data/ds --speed \S+", script)
    assert _interpolate("${DEMO_SPEED:-3600}") == "3600"


def test_published_host_ports_are_unique_and_local() -> None:
    seen: dict[int, str] = {}
    for name, service in _services().items():
        for spec in service.get("ports") or []:
            assert str(spec).startswith("127.0.0.1:"), f"{name}: {spec} binds every interface"
        for host in _published(service).values():
            assert host not in seen, f"host port {host}: {seen.get(host)} and {name}"
            seen[host] = name


# --------------------------------------------------------------------------- prometheus


def test_prometheus_scrapes_the_detector_metrics_port() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {
        t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    }
    detectors = {n: s for n, s in _services().items() if _command(s) == DETECTOR_RUN}
    assert detectors, "no service runs the detector"
    for name, service in detectors.items():
        assert f"{name}:{_env(service)['KVT_METRICS_PORT']}" in targets
    mounts = [str(v) for v in _services()["prometheus"]["volumes"]]
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts


# --------------------------------------------------------------------------- grafana


def _telemetry_metrics() -> dict[str, tuple[str, set[str]]]:
    """Metric family -> (type, label names), read from the source of detector/telemetry.py."""
    tree = ast.parse((ROOT / "detector" / "telemetry.py").read_text(encoding="utf-8"))
    kinds = {"Counter": "counter", "Gauge": "gauge", "Histogram": "histogram", "Summary": "summary"}
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in kinds:
            name = ast.literal_eval(node.args[0])
            labels: list[str] = []
            if len(node.args) > 2:
                labels = ast.literal_eval(node.args[2])
            for kw in node.keywords:
                if kw.arg == "labelnames":
                    labels = ast.literal_eval(kw.value)
            out[name] = (kinds[node.func.id], set(labels))
    # the parsed names are the ones the running registry exposes
    registered = {m.name for m in Telemetry().registry.collect()}
    assert registered == {n.removesuffix("_total") for n in out}
    return out


def _series_names(metrics: dict[str, tuple[str, set[str]]]) -> dict[str, str]:
    """Sample name as Prometheus stores it -> metric family."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
    }
    out = {}
    for name, (kind, _) in metrics.items():
        base = name.removesuffix("_total") if kind == "counter" else name
        for suffix in suffixes[kind]:
            out[base + suffix] = name
    return out


def _dashboard() -> dict[str, Any]:
    files = sorted(DASHBOARDS.glob("*.json"))
    assert len(files) == 1
    return json.loads(files[0].read_text(encoding="utf-8"))


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboards() -> None:
    prov = DEPLOY / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text(encoding="utf-8"))
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert 9090 in _published(_services()["prometheus"])
    providers = yaml.safe_load((prov / "dashboards" / "kvt.yml").read_text(encoding="utf-8"))
    (provider,) = providers["providers"]
    mounts = dict(str(v).split(":")[:2] for v in _services()["grafana"]["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    for panel in _dashboard()["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]


def test_dashboard_queries_use_only_the_detector_metrics() -> None:
    metrics = _telemetry_metrics()
    series = _series_names(metrics)
    used: set[str] = set()
    exprs = [
        (p["title"], t) for p in _dashboard()["panels"] for t in p.get("targets", []) if "expr" in t
    ]
    assert len(exprs) >= 6
    for title, target in exprs:
        expr = target["expr"]
        bare = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]', " ", expr)  # strings, matchers, ranges
        names = {w for w in re.findall(r"[A-Za-z_:][\w:]*", bare) if w.startswith("kvt_")}
        assert names, f"{title}: {expr} reads no detector metric"
        unknown = names - set(series)
        assert not unknown, f"{title}: {sorted(unknown)} not in detector/telemetry.py"
        families = {series[n] for n in names}
        used |= families
        labels = set().union(*(metrics[f][1] for f in families))
        if any(metrics[f][0] == "histogram" for f in families):
            labels.add("le")
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            grouped = {g.strip() for g in group.split(",") if g.strip()}
            assert grouped <= labels, f"{title}: no label {sorted(grouped - labels)}"
        legend = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
        assert legend <= labels, f"{title}: legend label {sorted(legend - labels)}"
    assert used == set(metrics), f"metrics without a panel: {sorted(set(metrics) - used)}"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    steps = _dockerfile()
    instructions = [word for word, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [arg for word, arg in steps if word == "USER"]
    assert users, "no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    run_steps = [arg for word, arg in steps if word == "RUN"]
    assert any(
        re.search(r"pip install .*--no-cache-dir.* -r requirements\.txt", arg) for arg in run_steps
    )
    assert ("COPY", "requirements.txt ./") in steps
    assert instructions.index("USER") > max(i for i, w in enumerate(instructions) if w == "RUN")
    (health,) = [arg for word, arg in steps if word == "HEALTHCHECK"]
    assert "/_stcore/health" in health
    (expose,) = [arg.split() for word, arg in steps if word == "EXPOSE"]
    assert set(expose) == {"8501", "9108"}
    (cmd,) = [json.loads(arg) for word, arg in steps if word == "CMD"]
    assert cmd[:3] == ["streamlit", "run", "serve.py"] and "--server.address=0.0.0.0" in cmd


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".services", "data", ".streamlit/secrets.toml"} <= ignored
    assert not ignored & {
        "requirements.txt",
        "app.py",
        "serve.py",
        "pages",
        "detector",
        "db",
        "data_gen",
    }


def test_no_credential_has_a_default_and_the_example_env_names_each() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    secret = re.compile(r"PASSWORD|SECRET|TOKEN", re.I)
    for match in re.finditer(r"\$\{(\w+)(:?[-?])?([^}]*)\}", text):
        name, op = match.group(1), match.group(2)
        if secret.search(name):
            assert op == ":?", f"{name} has a default or may be empty: {match.group(0)}"
    required = set(REQUIRED.findall(text))
    assert {"POSTGRES_PASSWORD", "MONGO_PASSWORD", "DESK_ADMIN_PASSWORD"} <= required
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert required <= set(example), required - set(example)
    assert all("change-me" in example[k] for k in required if secret.search(k))
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_the_admin_job_creates_the_first_account_through_stdin_only() -> None:
    admin = _services()["admin"]
    script = " ".join(_command(admin))
    assert "python -m db list-users" in script and "--password-stdin" in script
    create = script.split("|")[-1]  # the password reaches create-user through the pipe only
    assert "create-user" in create and "DESK_ADMIN_PASSWORD" not in create
    assert _depends(_services()["app"])["admin"] == "service_completed_successfully"


def test_the_flink_profile_runs_the_job_on_a_cluster_beside_the_stack() -> None:
    services = _services()
    flink = {n: s for n, s in services.items() if "flink" in (s.get("profiles") or [])}
    assert set(flink) == {"flink-jobmanager", "flink-taskmanager", "flink-job"}
    jm, tm, job = flink["flink-jobmanager"], flink["flink-taskmanager"], flink["flink-job"]
    assert _command(jm)[:2] == ["jobmanager.sh", "start-foreground"]
    assert _published(jm) == {8081: 8083}  # the Flink UI
    assert "taskmanager.numberOfTaskSlots=4" in _command(tm)
    script = " ".join(_command(job))
    assert "flink run -d -m flink-jobmanager:8081" in script
    assert "-py detector/flink/submit.py" in script
    assert "python -m detector flink --bridge" in script
    assert (ROOT / "detector" / "flink" / "submit.py").exists()
    known = {"KVT_" + f.name.upper() for f in fields(Settings) if f.name != "kafka_options"}
    for service in (tm, job):  # the Python workers and the bridge read the same settings
        env = {k: v for k, v in _env(service).items() if k != "FLINK_RESTORE"}
        assert set(env) <= known
        settings = load_settings(env=env, secrets_file=ROOT / "no-such-secrets.toml")
        assert settings.flink_checkpoints == "file:///checkpoints"
    for service in flink.values():
        assert "/checkpoints" in " ".join(service["volumes"][0].split(":")[1:])


def test_only_the_migrate_job_connects_as_the_schema_owner() -> None:
    services = _services()
    for name, service in _project_services().items():
        env = _env(service)
        if "KVT_DATABASE_URL" not in env:
            continue
        assert env["KVT_DATABASE_URL"].startswith("postgresql+psycopg2://kvt_app:required@"), name
        assert ("KVT_DATABASE_OWNER_URL" in env) == (name == "migrate"), name
    assert _env(services["migrate"])["KVT_DATABASE_OWNER_URL"].startswith(
        "postgresql+psycopg2://kvt:required@"
    )
    # The app's role is made on the database's first start, by a script of ours.
    postgres = services["postgres"]
    assert _env(postgres)["POSTGRES_APP_PASSWORD"] == "required"
    [mount] = [v for v in postgres["volumes"] if "docker-entrypoint-initdb.d" in v]
    script = ROOT / mount.split(":")[0]
    assert script.exists() and 'CREATE ROLE :"app" LOGIN' in script.read_text(encoding="utf-8")
