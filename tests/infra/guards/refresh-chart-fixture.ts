/**
 * Writes one chart's reference fixture for the Helm values guard from a local clone of the chart's source
 * repository, read at the pinned tag with `git show` (nothing is rendered, nothing is fetched).
 *
 *   node --import tsx tests/infra/guards/refresh-chart-fixture.ts --git-dir ../cert-manager/.git \
 *     --repo cert-manager/cert-manager --ref v1.19.0 --path deploy/charts/cert-manager \
 *     --chart cert-manager --version v1.19.0 --out tests/infra/guards/fixtures/charts/cert-manager.json
 *
 * Options: --values-file (default values.yaml; envoy gateway publishes values.tmpl.yaml), --subst NAME=VALUE
 * (repeatable: the release tool's `${NAME}` placeholders in a template), --app-version (for charts whose
 * Chart.yaml is stamped at release time), --retrieved YYYY-MM-DD (default: today, UTC).
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { parse } from "yaml";

function args(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    out.set(key, [...(out.get(key) ?? []), argv[i + 1]]);
  }
  return out;
}

const a = args(process.argv.slice(2));
const one = (k: string, fallback?: string): string => {
  const v = a.get(k)?.[0] ?? fallback;
  if (v === undefined) throw new Error(`--${k} is required`);
  return v;
};

const gitDir = one("git-dir");
const ref = one("ref");
const dir = one("path");
const git = (...cmd: string[]) => execFileSync("git", [`--git-dir=${gitDir}`, ...cmd], { encoding: "utf8", maxBuffer: 64 << 20 });
const show = (file: string): string | undefined => {
  try {
    return execFileSync("git", [`--git-dir=${gitDir}`, "show", `${ref}:${dir}/${file}`], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return undefined;
  }
};

const commit = git("rev-parse", `${ref}^{commit}`).trim();
const chartYaml = (parse(show("Chart.yaml") ?? show("Chart.template.yaml") ?? "{}") ?? {}) as Record<string, unknown>;
let valuesText = show(one("values-file", "values.yaml"));
if (valuesText === undefined) throw new Error(`no values file in ${dir} at ${ref}`);
for (const s of a.get("subst") ?? []) {
  const [name, ...rest] = s.split("=");
  valuesText = valuesText.split("${" + name + "}").join(rest.join("="));
}
const schemaText = show("values.schema.json");

// Keys the chart's templates read as `.Values.a.b.c`: charts document some keys only as comments in
// values.yaml (no default), and the guard accepts a key a template reads. Reads through `with`/`range`
// scopes or `index` are not followed, so such keys need an explicit allowance instead.
const templates = git("ls-tree", "-r", "--name-only", ref, `${dir}/templates/`).split("\n").filter(Boolean);
const reads = new Set<string>();
for (const file of templates) {
  const text = show(file.slice(dir.length + 1)) ?? "";
  for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) reads.add(m[1].slice(1));
}
const repo = one("repo");

const fixture = {
  chart: one("chart"),
  version: one("version"),
  appVersion: one("app-version", String(chartYaml.appVersion ?? "")),
  repository: repo,
  path: dir,
  tag: ref,
  commit,
  source: `https://github.com/${repo}/tree/${ref}/${dir}`,
  retrieved: one("retrieved", new Date().toISOString().slice(0, 10)),
  dependencies: ((chartYaml.dependencies ?? []) as { name: string; version: string; condition?: string }[]).map((d) => ({
    name: d.name,
    version: String(d.version),
    ...(d.condition ? { condition: d.condition } : {}),
  })),
  templateReads: [...reads].sort(),
  values: parse(valuesText) ?? {},
  ...(schemaText ? { schema: JSON.parse(schemaText) as unknown } : {}),
};
writeFileSync(one("out"), JSON.stringify(fixture, null, 2) + "\n");
process.stdout.write(`${fixture.chart}@${fixture.version} (${commit.slice(0, 12)}) -> ${one("out")}\n`);
