#!/usr/bin/env python3
"""moto, extended with what adaptd needs and moto lacks, answering in AWS's wire format.

moto (5.2) has no Lambda provisioned-concurrency APIs and no GetAccountSettings (it
answers 404 with an HTML page), and its CloudWatch GetMetricData cannot compute
percentile statistics (it renders `None` and fails with HTTP 500). This launcher adds
them on top of moto's own backend state, so the Rust AWS SDK talks to one server that
behaves like AWS for everything adaptd's collectors and actuator call:

- Lambda PutProvisionedConcurrencyConfig, GetProvisionedConcurrencyConfig,
  ListProvisionedConcurrencyConfigs, DeleteProvisionedConcurrencyConfig and
  GetAccountSettings (restJson1; errors carry the `X-Amzn-ErrorType` header and a
  `{"__type", "message"}` body, which the SDKs parse into typed errors);
- CloudWatch percentile statistics (`p50`, `p99.9`, ...) computed the way CloudWatch
  does: from raw values (`Value`/`Values`+`Counts` datums); from a statistic set only
  when its SampleCount is 1 or Minimum equals Maximum (otherwise, as on AWS, the
  period has no percentile datapoint);
- ECS CreateService with a `capacityProviderStrategy` (moto drops it and reports
  launch type EC2): the strategy is kept and answered by DescribeServices, with no
  launch type, as AWS does; a Fargate service's tasks are running at once
  (`runningCount` = `desiredCount`), like provisioned concurrency below;
- ECS UpdateService with a task definition given by family or `family:revision`: moto
  stores the text as given and DescribeServices answers it; AWS resolves it to the
  revision's ARN (the family's latest active revision for a bare family), as this does;
- `--indexed-metrics`: GetMetricData through an index by metric and period instead of
  moto's scan of every datum for every period (quadratic; benchmarks with a thousand
  functions over a week need this). Results are the same; only speed differs.

Usage: launcher.py [--indexed-metrics] [moto_server arguments, e.g. -H 127.0.0.1 -p PORT]

Fault injection, for tests of failure handling (environment variables):
- `ADAPTD_MOTO_DENY_ROLES=ARN,...`: STS AssumeRole of these roles answers AccessDenied;
- `ADAPTD_MOTO_FAIL_FUNCTIONS=NAME,...`: GetFunction of these answers HTTP 500
  ServiceException (every time, so retries run out);
- `ADAPTD_MOTO_THROTTLE_METRIC_DATA=N`: the first N GetMetricData calls answer HTTP 400
  `Throttling`, as CloudWatch does past its rate limit;
- `ADAPTD_MOTO_STOCK_PERCENTILES=1`: leave moto's percentile handling (HTTP 500).

Provisioned concurrency is allocated at once (Status READY), as the collector and
actuator tests want a deterministic state; `ADAPTD_MOTO_PC_STATUS=IN_PROGRESS` makes
new configs report IN_PROGRESS with nothing allocated instead.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlparse

import moto.awslambda.urls as lambda_urls
from moto.awslambda.models import lambda_backends
from moto.awslambda.responses import LambdaResponse
from moto.cloudwatch import models as cw_models

# Lambda's default regional concurrency quota; moto reads the same variable.
DEFAULT_CONCURRENCY_QUOTA = 1000
# AWS keeps this many executions unreserved in every account and region.
UNRESERVED_MINIMUM = 100


# ----------------------------------------------------------------------------- Lambda


class AwsError(Exception):
    """An error answered in restJson1 form."""

    def __init__(self, status: int, error_type: str, message: str):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message

    def response(self):
        body = json.dumps({"__type": self.error_type, "message": self.message, "Type": "User"})
        headers = {"X-Amzn-ErrorType": self.error_type, "Content-Type": "application/json", "status": self.status}
        return self.status, headers, body


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _pc_store(backend) -> dict:
    """Provisioned-concurrency configs of one account and region, kept on moto's own
    Lambda backend so that moto's reset (`POST /moto-api/reset`) clears them too."""
    store = getattr(backend, "_adaptd_pc", None)
    if store is None:
        store = {}
        backend._adaptd_pc = store
    return store


def _function_name(path: str) -> str:
    # /2019-09-30/functions/{FunctionName}/provisioned-concurrency
    parts = urlparse(path).path.split("/")
    return unquote(parts[3])


def _query(self) -> dict[str, str]:
    q = parse_qs(urlparse(self.uri).query, keep_blank_values=True)
    return {k: v[0] for k, v in q.items()}


def _resolve(self, name: str, qualifier: str | None):
    """(function, resolved version, qualifier) for a name and qualifier, with AWS's
    errors for a missing function, a missing qualifier, $LATEST and unknown ones."""
    backend = self.backend
    if qualifier is None or qualifier == "":
        raise AwsError(400, "InvalidParameterValueException",
                       "1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: Member must not be null")
    if ":" in name:  # an ARN or name:qualifier
        arn_parts = name.split(":")
        name = arn_parts[6] if name.startswith("arn:") else arn_parts[0]
    try:
        fn = backend.get_function(name)
    except Exception:
        raise AwsError(404, "ResourceNotFoundException",
                       f"Function not found: arn:aws:lambda:{self.region}:{self.current_account}:function:{name}")
    if qualifier == "$LATEST":
        raise AwsError(400, "InvalidParameterValueException",
                       "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
    if qualifier.isdigit():
        versions = [str(v.version) for v in backend.list_versions_by_function(name)]
        if qualifier not in versions:
            raise AwsError(404, "ResourceNotFoundException",
                           f"Function not found: {fn.function_arn.rsplit(':', 0)[0]}:{qualifier}")
        return fn, qualifier, qualifier
    aliases = {a.name: a for a in backend.list_aliases(name)}
    alias = aliases.get(qualifier)
    if alias is None:
        raise AwsError(404, "ResourceNotFoundException",
                       f"Cannot find alias arn: arn:aws:lambda:{self.region}:{self.current_account}:function:{name}:{qualifier}")
    return fn, alias.function_version, qualifier


def _config_json(cfg: dict, with_arn: bool) -> dict:
    out = {
        "RequestedProvisionedConcurrentExecutions": cfg["requested"],
        "AvailableProvisionedConcurrentExecutions": cfg["available"],
        "AllocatedProvisionedConcurrentExecutions": cfg["allocated"],
        "Status": cfg["status"],
        "LastModified": cfg["last_modified"],
    }
    if cfg.get("reason"):
        out["StatusReason"] = cfg["reason"]
    if with_arn:
        out = {"FunctionArn": cfg["arn"], **out}
    return out


def _quota() -> int:
    return int(os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA", DEFAULT_CONCURRENCY_QUOTA))


def _reserved_total(backend, except_name: str | None = None) -> int:
    total = 0
    for fn in backend.list_functions():
        if fn.reserved_concurrency and fn.function_name != except_name:
            total += int(fn.reserved_concurrency)
    return total


def _guarded(handler):
    def run(self):
        try:
            return handler(self)
        except AwsError as e:
            return e.response()
    run.__name__ = handler.__name__
    return run


@_guarded
def put_provisioned_concurrency_config(self):
    name = _function_name(self.path)
    qualifier = _query(self).get("Qualifier")
    fn, version, qualifier = _resolve(self, name, qualifier)
    body = json.loads(self.body or "{}")
    requested = body.get("ProvisionedConcurrentExecutions")
    if not isinstance(requested, int) or requested < 1:
        raise AwsError(400, "InvalidParameterValueException",
                       f"1 validation error detected: Value '{requested}' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1")
    store = _pc_store(self.backend)
    fname = fn.function_name
    # One config per version: an alias and the version it points to cannot both have one.
    for (other_name, other_q), cfg in store.items():
        if other_name == fname and other_q != qualifier and cfg["version"] == version:
            raise AwsError(409, "ResourceConflictException",
                           f"Alias/version {other_q} already has Provisioned Concurrency configured on version {version}.")
    others = sum(c["requested"] for (n, q), c in store.items() if n == fname and q != qualifier)
    if fn.reserved_concurrency is not None and requested + others > int(fn.reserved_concurrency):
        raise AwsError(400, "InvalidParameterValueException",
                       "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
    # Provisioned concurrency of a function without a reservation comes out of the
    # account's unreserved pool, which must keep its minimum.
    if fn.reserved_concurrency is None:
        unreserved_pc = sum(
            c["requested"] for (n, q), c in store.items()
            if (n, q) != (fname, qualifier) and self.backend.get_function(n).reserved_concurrency is None
        )
        if _quota() - _reserved_total(self.backend) - unreserved_pc - requested < UNRESERVED_MINIMUM:
            raise AwsError(400, "InvalidParameterValueException",
                           f"Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{UNRESERVED_MINIMUM}].")
    ready = os.environ.get("ADAPTD_MOTO_PC_STATUS", "READY") == "READY"
    cfg = {
        "arn": f"{fn.function_arn}:{qualifier}",
        "version": version,
        "requested": requested,
        "allocated": requested if ready else 0,
        "available": requested if ready else 0,
        "status": "READY" if ready else "IN_PROGRESS",
        "last_modified": _now(),
    }
    store[(fname, qualifier)] = cfg
    return 202, {"Content-Type": "application/json", "status": 202}, json.dumps(_config_json(cfg, False))


@_guarded
def get_provisioned_concurrency_config(self):
    if "List" in _query(self):
        return list_provisioned_concurrency_configs(self)
    name = _function_name(self.path)
    fn, _, qualifier = _resolve(self, name, _query(self).get("Qualifier"))
    cfg = _pc_store(self.backend).get((fn.function_name, qualifier))
    if cfg is None:
        raise AwsError(404, "ProvisionedConcurrencyConfigNotFoundException",
                       "No Provisioned Concurrency Config found for this function")
    return 200, {"Content-Type": "application/json"}, json.dumps(_config_json(cfg, False))


@_guarded
def list_provisioned_concurrency_configs(self):
    if "List" not in _query(self):
        return get_provisioned_concurrency_config(self)
    name = _function_name(self.path)
    try:
        fn = self.backend.get_function(name)
    except Exception:
        raise AwsError(404, "ResourceNotFoundException",
                       f"Function not found: arn:aws:lambda:{self.region}:{self.current_account}:function:{name}")
    q = _query(self)
    max_items = int(q.get("MaxItems") or 50)
    if not 1 <= max_items <= 50:
        raise AwsError(400, "InvalidParameterValueException",
                       f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50")
    configs = sorted(
        (cfg for (n, _), cfg in _pc_store(self.backend).items() if n == fn.function_name),
        key=lambda c: c["arn"],
    )
    start = int(q.get("Marker") or 0)
    page = configs[start:start + max_items]
    out = {"ProvisionedConcurrencyConfigs": [_config_json(c, True) for c in page]}
    if start + max_items < len(configs):
        out["NextMarker"] = str(start + max_items)
    return 200, {"Content-Type": "application/json"}, json.dumps(out)


@_guarded
def delete_provisioned_concurrency_config(self):
    name = _function_name(self.path)
    fn, _, qualifier = _resolve(self, name, _query(self).get("Qualifier"))
    store = _pc_store(self.backend)
    if (fn.function_name, qualifier) not in store:
        raise AwsError(404, "ResourceNotFoundException",
                       "No Provisioned Concurrency Config found for this function")
    del store[(fn.function_name, qualifier)]
    return 204, {"status": 204}, ""


@_guarded
def get_account_settings(self):
    backend = self.backend
    functions = list(backend.list_functions())
    quota = _quota()
    reserved = _reserved_total(backend)
    unreserved_pc = sum(
        c["requested"] for (n, _), c in _pc_store(backend).items()
        if backend.get_function(n).reserved_concurrency is None
    )
    code_size = sum(int(getattr(f, "code_size", 0) or 0) for f in functions)
    out = {
        "AccountLimit": {
            "TotalCodeSize": 80530636800,
            "CodeSizeUnzipped": 262144000,
            "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": quota,
            "UnreservedConcurrentExecutions": quota - reserved - unreserved_pc,
        },
        "AccountUsage": {"TotalCodeSize": code_size, "FunctionCount": len(functions)},
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(out)


def _names(var: str) -> set[str]:
    return {n for n in os.environ.get(var, "").split(",") if n}


def install_faults() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.sts.exceptions import STSClientError
    from moto.sts.models import STSBackend

    denied = _names("ADAPTD_MOTO_DENY_ROLES")
    if denied:
        original_assume = STSBackend.assume_role

        def assume_role(self, *args, **kwargs):
            role_arn = kwargs.get("role_arn", args[2] if len(args) > 2 else None)
            if role_arn in denied:
                raise STSClientError(
                    "AccessDenied",
                    f"User: arn:aws:iam::123456789012:user/test is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                )
            return original_assume(self, *args, **kwargs)

        STSBackend.assume_role = assume_role

    failing = _names("ADAPTD_MOTO_FAIL_FUNCTIONS")
    if failing:
        original_get = LambdaResponse.get_function

        def get_function(self):
            if unquote(self.path.rsplit("/", 1)[-1]) in failing:
                return AwsError(500, "ServiceException", "injected failure").response()
            return original_get(self)

        LambdaResponse.get_function = get_function

    throttle = [int(os.environ.get("ADAPTD_MOTO_THROTTLE_METRIC_DATA", "0") or 0)]
    if throttle[0] > 0:
        original_gmd = CloudWatchResponse.get_metric_data

        def get_metric_data(self):
            if throttle[0] > 0:
                throttle[0] -= 1
                body = (
                    '<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
                    "<Error><Type>Sender</Type><Code>Throttling</Code>"
                    "<Message>Rate exceeded</Message></Error>"
                    "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
                )
                return 400, {"status": 400, "Content-Type": "text/xml"}, body
            return original_gmd(self)

        CloudWatchResponse.get_metric_data = get_metric_data


# ------------------------------------------------------------------------------- ECS


def install_ecs() -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse

    original_create = EC2ContainerServiceResponse.create_service

    def create_service(self):
        strategy = self._get_param("capacityProviderStrategy") or []
        launch_type = self._get_param("launchType")
        result = original_create(self)
        cluster = self._get_param("cluster", "default")
        services, _ = self.ecs_backend.describe_services(cluster, [self._get_param("serviceName")])
        for service in services:
            if strategy and not launch_type:
                service.launch_type = None
                service.capacity_provider_strategy = [
                    {"capacityProvider": s["capacityProvider"], "weight": int(s.get("weight", 0)),
                     "base": int(s.get("base", 0))}
                    for s in strategy
                ]
            fargate = launch_type == "FARGATE" or any(
                s["capacityProvider"] in ("FARGATE", "FARGATE_SPOT") for s in strategy)
            if fargate:
                service.running_count = service.desired_count
                service.pending_count = 0
        return result

    EC2ContainerServiceResponse.create_service = create_service

    from moto.ecs.models import EC2ContainerServiceBackend

    original_update = EC2ContainerServiceBackend.update_service

    def update_service(self, service_properties):
        task_definition = service_properties.get("task_definition")
        service = original_update(self, service_properties)
        if task_definition:
            service.task_definition = self.describe_task_definition(task_definition).arn
        return service

    EC2ContainerServiceBackend.update_service = update_service


def install_lambda() -> None:
    for method in (
        put_provisioned_concurrency_config,
        get_provisioned_concurrency_config,
        list_provisioned_concurrency_configs,
        delete_provisioned_concurrency_config,
        get_account_settings,
    ):
        setattr(LambdaResponse, method.__name__, method)
    lambda_urls.url_paths[
        r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
    ] = LambdaResponse.dispatch
    lambda_urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = LambdaResponse.dispatch


# ------------------------------------------------------------------------- CloudWatch


def percentile_of(stat: str) -> float | None:
    """`p99.9` → 99.9; None for anything else."""
    if not stat.startswith("p"):
        return None
    try:
        p = float(stat[1:])
    except ValueError:
        return None
    return p if 0 <= p <= 100 else None


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, the definition CloudWatch documents for raw values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _raw_values(metric_data) -> list[float] | None:
    """The raw samples of a period, or None when a statistic set hides them."""
    values: list[float] = []
    for md in metric_data:
        if isinstance(md, cw_models.MetricDatum):
            values.append(md.value)
        elif isinstance(md, cw_models.MetricAggregatedDatum):
            # CloudWatch can use a statistic set for percentiles only when it holds
            # one value (SampleCount 1) or identical values (Minimum == Maximum).
            if md.min == md.max:
                values.extend([md.min] * max(1, int(md.sample_count)))
            else:
                return None
    return values


def install_percentiles() -> None:
    original = cw_models.Statistics.get_statistics_for_type

    def get_statistics_for_type(self, stat):
        p = percentile_of(stat)
        if p is None:
            return original(self, stat)
        values = _raw_values(self.metric_data or [])
        if not values:
            return None
        return percentile(values, p)

    cw_models.Statistics.get_statistics_for_type = get_statistics_for_type

    # moto renders every period with data, even when a statistic has no value there;
    # AWS leaves such periods out. Drop them so the XML never contains `None`.
    original_gmd = cw_models.CloudWatchBackend.get_metric_data

    def get_metric_data(self, *args, **kwargs):
        results = original_gmd(self, *args, **kwargs)
        for r in results:
            pairs = [(t, v) for t, v in zip(r["timestamps"], r["values"]) if v is not None]
            r["timestamps"] = [t for t, _ in pairs]
            r["values"] = [v for _, v in pairs]
        return results

    cw_models.CloudWatchBackend.get_metric_data = get_metric_data


def install_indexed_metrics() -> None:
    """GetMetricData in time linear in the data it returns: datums are indexed by
    (namespace, name, dimensions) and bucketed by period, where moto rescans every
    datum of the window for every period of every query."""

    def _key(namespace, name, dims):
        return (namespace, name, tuple(sorted((d.name, d.value) for d in dims)))

    index_cache: dict[int, tuple[int, dict]] = {}

    def index_of(backend):
        data = backend.metric_data
        cached = index_cache.get(id(backend))
        if cached is None or cached[0] != len(data):
            idx: dict = defaultdict(list)
            for md in data:
                idx[_key(md.namespace, md.name, md.dimensions)].append(md)
            cached = (len(data), idx)
            index_cache[id(backend)] = cached
        return cached[1]

    def get_metric_data(self, queries, start_time, end_time, scan_by="TimestampAscending"):
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time >= end_time:
            raise cw_models.ValidationError("The parameter StartTime must be less than the parameter EndTime.")
        idx = index_of(self)
        out = []
        for q in queries:
            if "MetricStat" not in q:
                continue
            ms = q["MetricStat"]
            m = ms["Metric"]
            dims = [cw_models.Dimension(name=d["Name"], value=d["Value"]) for d in m.get("Dimensions", [])]
            period = int(ms["Period"])
            buckets: dict[int, list] = defaultdict(list)
            for md in idx.get(_key(m["Namespace"], m["MetricName"], dims), []):
                if start_time <= md.timestamp < end_time:
                    k = int((md.timestamp - start_time).total_seconds()) // period
                    buckets[k].append(md)
            timestamps, values = [], []
            for k in sorted(buckets):
                st = cw_models.Statistics([ms["Stat"]], start_time + timedelta(seconds=k * period))
                st.metric_data = buckets[k]
                v = st.get_statistics_for_type(ms["Stat"])
                if v is not None:
                    timestamps.append(st.timestamp)
                    values.append(v)
            if scan_by == "TimestampDescending":
                timestamps.reverse()
                values.reverse()
            if q.get("ReturnData", True):
                out.append({
                    "id": q["Id"],
                    "label": q.get("Label") or f"{m['MetricName']} {ms['Stat']}",
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                })
        return out

    cw_models.CloudWatchBackend.get_metric_data = get_metric_data


def main() -> None:
    argv = sys.argv[1:]
    indexed = "--indexed-metrics" in argv
    argv = [a for a in argv if a != "--indexed-metrics"]
    install_lambda()
    install_ecs()
    # ADAPTD_MOTO_STOCK_PERCENTILES=1 keeps moto's own behaviour (HTTP 500 on a
    # percentile query), to test the error users get from such an endpoint.
    if not os.environ.get("ADAPTD_MOTO_STOCK_PERCENTILES"):
        install_percentiles()
    install_faults()
    if indexed:
        install_indexed_metrics()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
