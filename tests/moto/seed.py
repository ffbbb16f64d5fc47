#!/usr/bin/env python3
"""Seeds a moto server (started with launcher.py) with Lambda functions and their
AWS/Lambda metrics, and optionally ECS services with their AWS/ECS, Container Insights
and AWS/ApplicationELB metrics, through boto3, for end-to-end tests of `adaptd collect`.

Usage: seed.py ENDPOINT --functions N --start-minute M --minutes K [--prefix NAME] [--ecs]

Function i: memory 128·2^(i mod 4) MB, arm64 when i is odd, tags team=shop; every
fifth function gets a published version, alias `live` and provisioned concurrency 2.
Each minute of [M, M+K): Invocations 5 + (i + m) mod 7, Duration as five raw values
(so percentiles can be computed), ConcurrentExecutions 2. Prints one JSON line with
what it created.

With --ecs: cluster `shop` (Container Insights enabled) with a Fargate task definition
(512 CPU units, 1024 MB, ARM64) and three services: `api` (launch type FARGATE, 3
tasks, behind target group `api` of the ALB `shop-alb`, tag
adaptd:per_task_concurrency=8), `worker` (capacity providers FARGATE:1 and
FARGATE_SPOT:3, 2 tasks, no load balancer) and `legacy` (launch type EC2, which
adaptd skips). Each minute: CPUUtilization of `api` as raw values 20, 30, 40 + m mod 5
and MemoryUtilization 50, 60; of `worker` CPU 10 and memory 25; RunningTaskCount 3 and
2; for the target group RequestCount 100 + m mod 10 (none in minutes divisible by
30), TargetResponseTime 0.05, 0.08, 0.12, 0.2, 0.4 s and HTTPCode_Target_5XX_Count 1
every tenth minute.
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
    ap.add_argument("--ecs", action="store_true")
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
    put(cw, "AWS/Lambda", data)
    out = {"functions": names, "datums": len(data)}
    if a.ecs:
        out["ecs"] = seed_ecs(kw, cw, a.start_minute, a.minutes)
    print(json.dumps(out))


def put(cw, namespace, data):
    for k in range(0, len(data), 500):
        cw.put_metric_data(Namespace=namespace, MetricData=data[k:k + 500])


def seed_ecs(kw, cw, start, minutes):
    ec2 = boto3.client("ec2", **kw)
    elb = boto3.client("elbv2", **kw)
    ecs = boto3.client("ecs", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(GroupName="shop-web", Description="web", VpcId=vpc)["GroupId"]
    lb = elb.create_load_balancer(Name="shop-alb", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elb.create_target_group(Name="api", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    ecs.create_cluster(clusterName="shop", settings=[{"name": "containerInsights", "value": "enabled"}])
    td = ecs.register_task_definition(
        family="shop-api", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="512", memory="1024",
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        containerDefinitions=[{"name": "api", "image": "public.ecr.aws/nginx/nginx", "portMappings": [{"containerPort": 80}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    net = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}}
    ecs.create_service(cluster="shop", serviceName="api", taskDefinition=td, desiredCount=3, launchType="FARGATE",
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "api", "containerPort": 80}],
                       networkConfiguration=net, tags=[{"key": "adaptd:per_task_concurrency", "value": "8"}])
    ecs.create_service(cluster="shop", serviceName="worker", taskDefinition=td, desiredCount=2,
                       capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1},
                                                 {"capacityProvider": "FARGATE_SPOT", "weight": 3}],
                       networkConfiguration=net)
    ecs.create_service(cluster="shop", serviceName="legacy", taskDefinition=td, desiredCount=1, launchType="EC2")

    def dims(service):
        return [{"Name": "ClusterName", "Value": "shop"}, {"Name": "ServiceName", "Value": service}]

    tg_dims = [{"Name": "TargetGroup", "Value": tg.split(":", 5)[5]},
               {"Name": "LoadBalancer", "Value": lb.split(":", 5)[5].removeprefix("loadbalancer/")}]
    ecs_data, insights, alb = [], [], []
    for m in range(start, start + minutes):
        t = dt.datetime.fromtimestamp(m * 60, dt.timezone.utc)
        ecs_data += [
            {"MetricName": "CPUUtilization", "Dimensions": dims("api"), "Timestamp": t,
             "Values": [20.0, 30.0, 40.0 + m % 5], "Unit": "Percent"},
            {"MetricName": "MemoryUtilization", "Dimensions": dims("api"), "Timestamp": t,
             "Values": [50.0, 60.0], "Unit": "Percent"},
            {"MetricName": "CPUUtilization", "Dimensions": dims("worker"), "Timestamp": t, "Value": 10.0, "Unit": "Percent"},
            {"MetricName": "MemoryUtilization", "Dimensions": dims("worker"), "Timestamp": t, "Value": 25.0, "Unit": "Percent"},
        ]
        insights += [
            {"MetricName": "RunningTaskCount", "Dimensions": dims("api"), "Timestamp": t, "Value": 3, "Unit": "Count"},
            {"MetricName": "RunningTaskCount", "Dimensions": dims("worker"), "Timestamp": t, "Value": 2, "Unit": "Count"},
        ]
        if m % 30 != 0:
            alb += [
                {"MetricName": "RequestCount", "Dimensions": tg_dims, "Timestamp": t, "Value": 100 + m % 10, "Unit": "Count"},
                {"MetricName": "TargetResponseTime", "Dimensions": tg_dims, "Timestamp": t,
                 "Values": [0.05, 0.08, 0.12, 0.2, 0.4], "Unit": "Seconds"},
            ]
        if m % 10 == 0:
            alb.append({"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": tg_dims, "Timestamp": t,
                        "Value": 1, "Unit": "Count"})
    put(cw, "AWS/ECS", ecs_data)
    put(cw, "ECS/ContainerInsights", insights)
    put(cw, "AWS/ApplicationELB", alb)
    return {"services": ["shop/api", "shop/worker"], "skipped": ["shop/legacy"],
            "target_group": tg, "load_balancer": lb,
            "datums": len(ecs_data) + len(insights) + len(alb)}


if __name__ == "__main__":
    main()
