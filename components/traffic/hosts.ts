/** Host names under the stack's domain: each model at `<model>.<domain>`, plus the platform's own. */

/** Host names the platform itself serves; no model may take them. */
export const GRAFANA_HOST = "grafana";
export const RESERVED_HOSTS: readonly string[] = [GRAFANA_HOST];

export const hostFor = (name: string, domain: string) => `${name}.${domain}`;
