/**
 * The cluster's VPC: private subnets for nodes and pods (one per zone), public subnets for internet-facing
 * load balancers and the NAT gateways, NAT per zone (or one, for dev), and VPC endpoints so image pulls and
 * model downloads do not pay for NAT traffic: a gateway endpoint for S3 and interface endpoints for ECR
 * and STS.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { vpcSubnetPlan } from "../cidr";

export interface NetworkSpec {
  clusterName: string;
  region: string;
  vpcCidr: string;
  zones: number;
  natGateways: "perZone" | "single";
  tags: Record<string, string>;
}

export interface Network {
  vpc: aws.ec2.Vpc;
  privateSubnetIds: pulumi.Output<string>[];
  publicSubnetIds: pulumi.Output<string>[];
  natGateways: aws.ec2.NatGateway[];
  /** Interface endpoints (billed per zone-hour). */
  interfaceEndpoints: aws.ec2.VpcEndpoint[];
}

/** Interface endpoints that carry node and pod traffic which would otherwise go through NAT. */
export const INTERFACE_ENDPOINT_SERVICES = ["ecr.api", "ecr.dkr", "sts"] as const;

export function createNetwork(name: string, spec: NetworkSpec, opts: pulumi.CustomResourceOptions): Network {
  const { region, tags } = spec;
  const plan = vpcSubnetPlan(spec.vpcCidr, spec.zones);
  const zones = aws.getAvailabilityZonesOutput({ region, state: "available" }, { parent: opts.parent });
  const zone = (i: number) => zones.names.apply((names) => names[i]);
  // The load balancer controller and Kubernetes find subnets by these tags.
  const clusterTag = { [`kubernetes.io/cluster/${spec.clusterName}`]: "shared" };

  const vpc = new aws.ec2.Vpc(
    name,
    { region, cidrBlock: spec.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: name } },
    opts,
  );
  const child = { ...opts, parent: vpc };
  // The default security group allows all traffic between its members; nothing should use it, so empty it.
  new aws.ec2.DefaultSecurityGroup(name, { region, vpcId: vpc.id, tags }, child);

  const igw = new aws.ec2.InternetGateway(name, { region, vpcId: vpc.id, tags: { ...tags, Name: name } }, child);
  const publicRoutes = new aws.ec2.RouteTable(
    `${name}-public`,
    { region, vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: { ...tags, Name: `${name}-public` } },
    child,
  );

  const publicSubnets = plan.public.map((cidr, i) => {
    const subnet = new aws.ec2.Subnet(
      `${name}-public-${i}`,
      {
        region,
        vpcId: vpc.id,
        cidrBlock: cidr,
        availabilityZone: zone(i),
        mapPublicIpOnLaunch: false,
        tags: { ...tags, ...clusterTag, Name: `${name}-public-${i}`, "kubernetes.io/role/elb": "1" },
      },
      child,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-public-${i}`,
      { region, subnetId: subnet.id, routeTableId: publicRoutes.id },
      child,
    );
    return subnet;
  });

  const natCount = spec.natGateways === "perZone" ? spec.zones : 1;
  const natGateways = Array.from({ length: natCount }, (_, i) => {
    const eip = new aws.ec2.Eip(
      `${name}-nat-${i}`,
      { region, domain: "vpc", tags: { ...tags, Name: `${name}-nat-${i}` } },
      child,
    );
    return new aws.ec2.NatGateway(
      `${name}-nat-${i}`,
      { region, allocationId: eip.id, subnetId: publicSubnets[i].id, tags: { ...tags, Name: `${name}-nat-${i}` } },
      { ...child, dependsOn: [igw] },
    );
  });

  const privateRouteTables = plan.private.map((_, i) => {
    // Each zone leaves through its own NAT gateway when there is one per zone, so a zone outage stays local.
    const nat = natGateways[Math.min(i, natGateways.length - 1)];
    return new aws.ec2.RouteTable(
      `${name}-private-${i}`,
      {
        region,
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
        tags: { ...tags, Name: `${name}-private-${i}` },
      },
      child,
    );
  });
  const privateSubnets = plan.private.map((cidr, i) => {
    const subnet = new aws.ec2.Subnet(
      `${name}-private-${i}`,
      {
        region,
        vpcId: vpc.id,
        cidrBlock: cidr,
        availabilityZone: zone(i),
        tags: { ...tags, ...clusterTag, Name: `${name}-private-${i}`, "kubernetes.io/role/internal-elb": "1" },
      },
      child,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-private-${i}`,
      { region, subnetId: subnet.id, routeTableId: privateRouteTables[i].id },
      child,
    );
    return subnet;
  });

  // S3 through a gateway endpoint: free, and model downloads are the largest transfer the nodes make.
  new aws.ec2.VpcEndpoint(
    `${name}-s3`,
    {
      region,
      vpcId: vpc.id,
      serviceName: `com.amazonaws.${region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: privateRouteTables.map((t) => t.id),
      tags: { ...tags, Name: `${name}-s3` },
    },
    child,
  );
  const endpointSg = new aws.ec2.SecurityGroup(
    `${name}-endpoints`,
    {
      region,
      vpcId: vpc.id,
      description: "HTTPS from inside the VPC to the interface endpoints",
      ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [spec.vpcCidr], description: "HTTPS from the VPC" }],
      tags: { ...tags, Name: `${name}-endpoints` },
    },
    child,
  );
  const interfaceEndpoints = INTERFACE_ENDPOINT_SERVICES.map(
    (service) =>
      new aws.ec2.VpcEndpoint(
        `${name}-${service.replace(".", "-")}`,
        {
          region,
          vpcId: vpc.id,
          serviceName: `com.amazonaws.${region}.${service}`,
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: privateSubnets.map((s) => s.id),
          securityGroupIds: [endpointSg.id],
          tags: { ...tags, Name: `${name}-${service}` },
        },
        child,
      ),
  );

  return {
    vpc,
    privateSubnetIds: privateSubnets.map((s) => s.id),
    publicSubnetIds: publicSubnets.map((s) => s.id),
    natGateways,
    interfaceEndpoints,
  };
}
