/**
 * Guard 2: every Helm release of every stack against its pinned chart's reference data (fixtures/charts/),
 * and the cluster autoscaler's chart, image and control plane on one Kubernetes minor (issue 9, defect 13).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { httpAddOnValues } from "../../../components/autoscaling/http-add-on";
import { CHARTS } from "../../../components/charts";
import { CHARTS as AWS_CHARTS, clusterAutoscalerImageTag } from "../../../components/clusters/aws/addons";
import { planJson } from "../helpers";
import { checkRelease, FIXTURES_DIR, loadFixture, subchartVersionProblems, type ChartRule } from "./helm-values";
import { CHART_RULES, chartName, PINS } from "./helm-values-rules";

const STACKS = ["local", "dev", "staging", "prod", "onprem", "dr"];
const RELEASE = "kubernetes:helm.sh/v3:Release";
type Planned = Awaited<ReturnType<typeof planJson>>["resources"];

/**
 * Release values a component renders that no shipped stack file plans: dev plans the KEDA HTTP add-on with TLS,
 * not highly available; the other ways it can render (highly available, and plain HTTP for local) are checked
 * as the component renders them.
 */
const componentReleases = [true, false].flatMap((ha) =>
  [true, false].map((tls) => ({
    label: `component: keda-add-ons-http (highAvailability ${ha}, tls ${tls})`,
    inputs: {
      chart: CHARTS.kedaHttpAddOn.chart,
      version: CHARTS.kedaHttpAddOn.version,
      values: httpAddOnValues({
        highAvailability: ha,
        responseHeaderSeconds: 600,
        tls: tls ? { certSecret: "interceptor-tls" } : undefined,
      }),
    },
  })),
);
const plans = new Map<string, Planned>();

before(async () => {
  for (const s of STACKS) plans.set(s, (await planJson(s)).resources);
});

const allRules = (): [string, ChartRule][] =>
  Object.entries(CHART_RULES).flatMap(([name, r]) => [[name, r] as [string, ChartRule], ...Object.entries(r.subcharts ?? {})]);
const minor = (v: string) => v.replace(/^v/, "").split(".").slice(0, 2).join(".");

describe("helm values guard: reference data", () => {
  test("every fixture names its chart, version, source at a commit and the day it was read", () => {
    for (const [, rule] of allRules()) {
      const f = loadFixture(rule.fixture);
      assert.match(f.commit, /^[0-9a-f]{40}$/, `${rule.fixture}.json: commit`);
      assert.ok(f.source.startsWith(`https://github.com/${f.repository}/tree/`), `${rule.fixture}.json: source`);
      assert.match(f.retrieved, /^\d{4}-\d{2}-\d{2}$/, `${rule.fixture}.json: retrieved`);
      assert.ok(f.version && f.appVersion && typeof f.values === "object", `${rule.fixture}.json: version, appVersion, values`);
    }
  });

  test("every pinned chart has a fixture of exactly the pinned version (a bump must refresh it)", () => {
    for (const [chart, version] of Object.entries(PINS)) {
      const rule = CHART_RULES[chart];
      assert.ok(rule, `${chart}@${version}: no rule in helm-values-rules.ts`);
      const f = loadFixture(rule.fixture);
      assert.equal(
        f.version,
        version,
        `${chart}: pinned ${version}, fixture ${rule.fixture}.json holds ${f.version}: refresh it`,
      );
    }
  });

  test("every subchart fixture is the version its parent chart pins", () => {
    assert.deepEqual(Object.values(CHART_RULES).flatMap(subchartVersionProblems), []);
  });
});

describe("helm values guard: the checker", () => {
  const never = () => {};
  const ca = CHART_RULES["cluster-autoscaler"];
  const label = `${RELEASE}::t`;

  test("a key the chart does not have fails, naming release, chart@version and key path", () => {
    const problems = checkRelease(label, ca, { rbac: { serviceAcount: { create: true } } }, never);
    assert.deepEqual(problems, [
      `${label} (cluster-autoscaler@9.59.0): values.rbac.serviceAcount is not a key of the chart's default values`,
    ]);
  });

  test("a value of another type than the default fails", () => {
    const [p] = checkRelease(label, ca, { replicaCount: "2" }, never);
    assert.match(p, /values\.replicaCount is a string, the chart's default is a number/);
  });

  test("a key only a template reads passes; a free-form map passes and is reported as used", () => {
    const used: string[] = [];
    const keda = CHART_RULES.keda;
    const ok = checkRelease(
      label,
      keda,
      { podDisruptionBudget: { operator: { minAvailable: 1 } }, resources: { operator: {} } },
      (_r, p) => used.push(p),
    );
    assert.deepEqual(ok, []);
    assert.deepEqual(used, ["resources.*"]);
  });

  test("values.schema.json decides where the chart ships one", () => {
    const problems = checkRelease(label, CHART_RULES["cert-manager"], { replicaCount: "two", webhook: { replicas: 2 } }, never);
    assert.ok(
      problems.some((p) => /values\.replicaCount must be (integer|number)/.test(p)),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => /values\.webhook\.replicas must NOT have additional properties/.test(p)),
      problems.join("\n"),
    );
  });

  test("a subchart's keys are checked against the subchart's own defaults", () => {
    const [p] = checkRelease(label, CHART_RULES["kube-prometheus-stack"], { grafana: { adminPasswort: "x" } }, never);
    assert.match(p, /subchart grafana@10\.0\.0: values\.grafana\.adminPasswort is not a key/);
  });
});

describe("helm values guard: every release of every stack", () => {
  test("each release's chart is pinned, has a fixture of its version, and its values fit the chart", () => {
    const used = new Set<string>();
    const problems: string[] = [];
    const releases = [
      ...[...plans].flatMap(([stack, resources]) =>
        resources.filter((x) => x.type === RELEASE).map((r) => ({ label: `${stack}: ${r.type}::${r.name}`, inputs: r.inputs })),
      ),
      ...componentReleases,
    ];
    for (const r of releases) {
      const inputs = r.inputs as { chart: string; version: string; values?: Record<string, unknown> };
      const chart = chartName(inputs.chart);
      const rule = CHART_RULES[chart];
      if (!rule) {
        problems.push(`${r.label}: chart ${chart} has no fixture; add one (docs/operations.md, Guards: Helm values)`);
        continue;
      }
      const f = loadFixture(rule.fixture);
      if (inputs.version !== f.version)
        problems.push(`${r.label}: installs ${chart}@${inputs.version}, fixture holds ${f.version}`);
      problems.push(...checkRelease(r.label, rule, inputs.values ?? {}, (rl, p) => used.add(`${rl.fixture}:${p}`)));
    }
    assert.deepEqual(problems, []);
    const unused = allRules().flatMap(([, rl]) => rl.freeForm.map((f) => `${rl.fixture}:${f.path}`).filter((k) => !used.has(k)));
    assert.deepEqual(unused, [], "free-form allowances no release uses: remove them");
  });
});

describe("cluster autoscaler: chart, image and control plane on one minor (defect 13)", () => {
  const fixture = loadFixture(CHART_RULES["cluster-autoscaler"].fixture);
  const releases = JSON.parse(readFileSync(path.join(FIXTURES_DIR, "cluster-autoscaler-releases.json"), "utf8")) as {
    releases: { tag: string }[];
  };

  test("the pinned image tag is a published cluster-autoscaler release", () => {
    const tags = releases.releases.map((r) => `v${r.tag.replace("cluster-autoscaler-", "")}`);
    assert.ok(
      tags.includes(AWS_CHARTS.clusterAutoscaler.imageTag),
      `${AWS_CHARTS.clusterAutoscaler.imageTag} not in ${tags.join(", ")}`,
    );
  });

  test("every EKS cluster of every stack: image minor == chart appVersion minor == cluster minor", () => {
    let clusters = 0;
    for (const [stack, resources] of plans) {
      for (const c of resources.filter((r) => r.type === "aws:eks/cluster:Cluster")) {
        clusters++;
        const version = String((c.inputs as { version: string }).version);
        const ca = resources.find((r) => r.type === RELEASE && r.parent === c.parent && r.name.endsWith("-cluster-autoscaler"));
        assert.ok(ca, `${stack}: EKS cluster ${c.name} has no cluster-autoscaler release`);
        const tag = String((ca.inputs as { values: { image: { tag: string } } }).values.image.tag);
        const where = `${stack}: ${RELEASE}::${ca.name} values.image.tag ${tag}, cluster ${c.name} ${version}`;
        assert.equal(minor(tag), version, where);
        assert.equal(minor(fixture.appVersion), version, `${where}, chart appVersion ${fixture.appVersion}`);
      }
    }
    assert.ok(clusters >= 3, "dev, prod and dr each plan an EKS cluster");
  });

  test("a cluster on another minor than the pinned image is refused, naming the key", () => {
    assert.throws(() => clusterAutoscalerImageTag("1.34"), /clusters\[\]\.version 1\.34: .*v1\.35\.2/);
    assert.equal(clusterAutoscalerImageTag("1.35"), "v1.35.2");
  });
});
