/**
 * What must already exist in the disaster-recovery region before `pulumi up -s dr` can succeed, read from the
 * stack file: the model artifacts (replicas of prod's bucket) and the runtime image. Also checks that dr does
 * not lean on prod's region, which is exactly what is gone when it is needed.
 *
 * Usage (dr.yml): npx tsx stacks/config/dr-prerequisites.ts [dr] [prod]
 * Prints one prerequisite per line (`s3 <uri>`, `azure-blob <uri>`, `https <uri>`, `image <ref>`; a pinned
 * model as its version folder) for the workflow to check with the cloud's CLI; exit 1 with the reasons when dr depends on prod's region.
 */
import type { ModelSource, Settings } from "./schema";
import { settingsOf } from "./promotion";
import { readStackConfigFile } from "../plan/stack-file";

export interface Prerequisite {
  kind: "s3" | "azure-blob" | "https" | "image";
  target: string;
}

/** The model source each cluster of the stack reads, per model. */
function sourcesOf(settings: Settings): { model: string; cluster: string; source: ModelSource }[] {
  return settings.models.flatMap((m) =>
    settings.clusters
      .filter((c) => m.clusters === undefined || m.clusters.includes(c.name))
      .map((c) => ({ model: m.name, cluster: c.name, source: m.sourceByCluster[c.name] ?? m.source })),
  );
}

/** The pinned version folder (`<prefix>/<version>/`, holding model-manifest.json), or the prefix when unpinned. */
const artifactFolder = (source: { uri: string; version?: string }) =>
  source.version === undefined ? source.uri : `${source.uri.replace(/\/+$/, "")}/${source.version}/`;

export function drPrerequisites(settings: Settings): Prerequisite[] {
  const found = new Map<string, Prerequisite>();
  const add = (p: Prerequisite) => found.set(`${p.kind} ${p.target}`, p);
  for (const { source } of sourcesOf(settings)) {
    // A PVC lives in the cluster that pulumi up creates, and the demo model is built in: nothing to check.
    if (source.kind === "s3") add({ kind: "s3", target: artifactFolder(source) });
    if (source.kind === "azureBlob") add({ kind: "azure-blob", target: artifactFolder(source) });
    if (source.kind === "https") add({ kind: "https", target: source.uri });
  }
  add({ kind: "image", target: settings.runtime.image });
  return [...found.values()];
}

const regionsOf = (s: Settings) =>
  s.clusters.flatMap((c) => (c.substrate === "eks" ? [c.region] : c.substrate === "aks" ? [c.location] : []));

const bucketOf = (source: ModelSource) =>
  source.kind === "s3"
    ? source.uri.replace(/^s3:\/\/([^/]+).*$/, "s3://$1")
    : source.kind === "azureBlob"
      ? source.uri
      : undefined;

/** Ways in which dr would fail together with prod's region; empty when it stands on its own. */
export function checkDrIndependence(prod: Settings, dr: Settings): string[] {
  const problems: string[] = [];
  const prodRegions = new Set(regionsOf(prod));
  for (const region of regionsOf(dr))
    if (prodRegions.has(region)) problems.push(`clusters: dr runs in ${region}, a region prod also runs in`);
  const prodBuckets = new Set(sourcesOf(prod).map((s) => bucketOf(s.source)));
  for (const { model, cluster, source } of sourcesOf(dr)) {
    const bucket = bucketOf(source);
    if (bucket !== undefined && prodBuckets.has(bucket))
      problems.push(
        `models.${model} on ${cluster}: reads ${bucket}, prod's own bucket; point it at the replica in the DR region`,
      );
  }
  // Which DR region prod replicates to is declared on prod's clusters (`dr.region` on EKS, `drLocation` on AKS).
  const declared = new Set(
    prod.clusters.flatMap((c) =>
      c.substrate === "eks" && c.dr ? [c.dr.region] : c.substrate === "aks" && c.drLocation ? [c.drLocation] : [],
    ),
  );
  for (const region of regionsOf(dr))
    if (declared.size > 0 && !declared.has(region))
      problems.push(`clusters: dr runs in ${region} but prod replicates to ${[...declared].join(", ")} (clusters[].dr.region)`);
  const ecrRegion = /^[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\//.exec(dr.runtime.image)?.[1];
  if (ecrRegion !== undefined && prodRegions.has(ecrRegion))
    problems.push(`runtime.image: pulled from ECR in ${ecrRegion}, prod's region; use the replica in the DR region`);
  return problems;
}

if (require.main === module) {
  const [drStack = "dr", prodStack = "prod"] = process.argv.slice(2);
  const dr = settingsOf(readStackConfigFile(drStack));
  const problems = checkDrIndependence(settingsOf(readStackConfigFile(prodStack)), dr);
  if (problems.length > 0) {
    process.stderr.write(`Stack ${drStack} depends on ${prodStack}'s region:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write(
    drPrerequisites(dr)
      .map((p) => `${p.kind} ${p.target}\n`)
      .join(""),
  );
}
