/**
 * The cluster's VNet: one node subnet (pods use the Azure CNI overlay range, so they take no VNet
 * addresses and need no subnet of their own) behind an NSG that admits the gateway's HTTPS only when the
 * load balancer is internet-facing.
 */
import type * as azure from "@pulumi/azure-native";
import * as network from "@pulumi/azure-native/network";
import * as pulumi from "@pulumi/pulumi";
import { vnetSubnetPlan } from "../cidr";

export interface NetworkSpec {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  vnetCidr: string;
  scheme: "internet-facing" | "internal";
  tags: Record<string, string>;
}

export function createNetwork(name: string, spec: NetworkSpec, opts: pulumi.CustomResourceOptions) {
  const plan = vnetSubnetPlan(spec.vnetCidr);
  const { resourceGroupName, location, tags } = spec;
  const rules: azure.types.input.network.SecurityRuleArgs[] =
    spec.scheme === "internet-facing"
      ? [
          {
            name: "allow-gateway-https",
            priority: 100,
            direction: "Inbound",
            access: "Allow",
            protocol: "Tcp",
            sourceAddressPrefix: "Internet",
            sourcePortRange: "*",
            // Not the node subnet: AKS load balancer rules use floating IP by default, so the packet reaches the
            // node still addressed to the load balancer's frontend IP, and a node-subnet destination leaves it to
            // DenyAllInBound. The frontend IP is picked by the cloud provider when the gateway Service is created,
            // so any destination, limited to these ports from the internet; the cloud provider's own NSG rules on
            // the nodes narrow it to that frontend IP.
            destinationAddressPrefix: "*",
            // 80 only answers ACME HTTP-01 and redirects to HTTPS (the Gateway's listeners enforce it).
            destinationPortRanges: ["443", "80"],
          },
        ]
      : [];
  const nsg = new network.NetworkSecurityGroup(
    `${name}-nodes`,
    { resourceGroupName, location, networkSecurityGroupName: `nsg-${name}-nodes`, securityRules: rules, tags },
    opts,
  );
  const vnet = new network.VirtualNetwork(
    name,
    { resourceGroupName, location, virtualNetworkName: `vnet-${name}`, addressSpace: { addressPrefixes: [spec.vnetCidr] }, tags },
    { ...opts, ignoreChanges: ["subnets"] },
  );
  const nodes = new network.Subnet(
    `${name}-nodes`,
    {
      resourceGroupName,
      virtualNetworkName: vnet.name,
      subnetName: "nodes",
      addressPrefix: plan.nodes,
      networkSecurityGroup: { id: nsg.id },
      // Storage and registry traffic stays on the Azure backbone.
      serviceEndpoints: [{ service: "Microsoft.Storage" }, { service: "Microsoft.ContainerRegistry" }],
    },
    { ...opts, parent: vnet },
  );
  return { vnet, nodes, nsg };
}
