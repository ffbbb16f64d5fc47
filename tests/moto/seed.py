#!/usr/bin/env python3
"""Seeds a moto server (started with launcher.py) with Lambda functions and their
AWS/Lambda metrics, through boto3, for end-to-end tests of `adaptd collect`.

Usage: seed.py ENDPOINT --functions N --start-minute M --minutes K [--prefix NAME]

Function i: memory 128·2^(i mod 4) MB, arm64 when i is odd, tags team=shop; every
fifth function gets a published version, alias `live` and provisioned concurrency 2.
Each minute of [M, M+K): Invocations 5 + (i + m) mod 7, Duration as five raw values
(so percentiles can be computed), ConcurrentExecutions 2. Prints one JSON line with
what it created.
"""

import argparse
import datetime as dt
import io
import json
import zipfile

import boto3
from botocore.config import Config


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("--functions", type=int, default=3)
    ap.add_argument("--start-minute", type=int, required=True)
    ap.add_argument("--minutes", type=int, default=180)
    ap.add_argument("--prefix", default="shop")
    a = ap.parse_args()
    kw = dict(endpoint_url=a.endpoint, region_name="us-east-1",
              aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="secret")
    iam = boto3.client("iam", **kw)
    lam = boto3.client("lambda", **kw)
    # moto's server mishandles botocore's gzip request compression of large bodies.
    cw = boto3.client("cloudwatch", config=Config(disable_request_compression=True), **kw)
    try:
        role = iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="lambda-role")["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("h.py", "def handler(e, c):\n    return 1\n")
    names = []
    for i in range(a.functions):
        name = f"{a.prefix}-{i:04d}"
        lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="h.handler",
            Code={"ZipFile": buf.getvalue()}, MemorySize=128 * 2 ** (i % 4),
            Architectures=["arm64" if i % 2 else "x86_64"], Tags={"team": "shop"},
        )
        if i % 5 == 0:
            v = lam.publish_version(FunctionName=name)["Version"]
            lam.create_alias(FunctionName=name, Name="live", FunctionVersion=v)
            lam.put_provisioned_concurrency_config(
                FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2)
        names.append(name)
    data = []
    for i, name in enumerate(names):
        dims = [{"Name": "FunctionName", "Value": name}]
        for m in range(a.start_minute, a.start_minute + a.minutes):
            t = dt.datetime.fromtimestamp(m * 60, dt.timezone.utc)
            data.append({"MetricName": "Invocations", "Dimensions": dims, "Timestamp": t,
                         "Value": 5 + (i + m) % 7, "Unit": "Count"})
            data.append({"MetricName": "Duration", "Dimensions": dims, "Timestamp": t,
                         "Values": [40.0, 55.0, 70.0, 90.0, 150.0 + m % 11], "Unit": "Milliseconds"})
            data.append({"MetricName": "ConcurrentExecutions", "Dimensions": dims, "Timestamp": t,
                         "Value": 2, "Unit": "Count"})
    for k in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=data[k:k + 500])
    print(json.dumps({"functions": names, "datums": len(data)}))


if __name__ == "__main__":
    main()
