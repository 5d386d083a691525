/** Action-by-action comparison of an IAM policy with an upstream reference policy (Allow statements). */

export interface PolicyJson {
  Statement: { Effect: string; Action: string | string[]; Resource?: string | string[]; Condition?: unknown }[];
}

export interface PolicyDifference {
  kind: "missing" | "extra" | "scope";
  action: string;
  detail: string;
}

interface Grant {
  action: string;
  scope: string;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** JSON with object keys and array items sorted, so equal conditions compare equal however written. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).sort().join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  // Single values and one-item lists mean the same to IAM.
  return JSON.stringify(String(v));
}

const canonicalCondition = (c: unknown): string => {
  if (!c || typeof c !== "object") return "";
  const flat: Record<string, Record<string, unknown>> = {};
  for (const [op, kv] of Object.entries(c as Record<string, Record<string, unknown>>))
    flat[op] = Object.fromEntries(Object.entries(kv).map(([k, v]) => [k, list(v).length === 1 ? list(v)[0] : v]));
  return canonical(flat);
};

function grants(doc: PolicyJson): Grant[] {
  return doc.Statement.filter((s) => s.Effect === "Allow").flatMap((s) =>
    list(s.Action).flatMap((action) =>
      list(s.Resource).map((resource) => ({
        action: action.toLowerCase(),
        scope: s.Condition ? `${resource} if ${canonicalCondition(s.Condition)}` : resource,
      })),
    ),
  );
}

const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");

/** IAM action globs: `*` matches any run of characters, case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.toLowerCase().split("*").map(escape).join(".*")}$`);
  return re.test(action.toLowerCase());
}
const scopes = (gs: Grant[]) => [...new Set(gs.map((g) => g.scope))].sort();

/**
 * Upstream actions we do not grant (`missing`), our actions upstream does not name (`extra`), and actions
 * both grant on other resources or under other conditions (`scope`). Wildcards in our actions count.
 */
export function diffPolicies(ours: PolicyJson, upstream: PolicyJson): PolicyDifference[] {
  const up = grants(upstream);
  const mine = grants(ours);
  const upActions = [...new Set(up.map((g) => g.action))];
  const out: PolicyDifference[] = [];
  for (const a of upActions) {
    const covering = mine.filter((g) => actionMatches(g.action, a));
    if (covering.length === 0) {
      out.push({
        kind: "missing",
        action: a,
        detail: `upstream grants it on ${scopes(up.filter((g) => g.action === a)).join("; ")}`,
      });
      continue;
    }
    const ourScope = scopes(covering);
    const upScope = scopes(up.filter((g) => g.action === a));
    if (ourScope.join("\n") !== upScope.join("\n"))
      out.push({ kind: "scope", action: a, detail: `ours: ${ourScope.join("; ")} | upstream: ${upScope.join("; ")}` });
  }
  for (const a of new Set(mine.map((g) => g.action)))
    if (!upActions.some((u) => actionMatches(a, u)))
      out.push({
        kind: "extra",
        action: a,
        detail: `ours grants it on ${scopes(mine.filter((g) => g.action === a)).join("; ")}`,
      });
  return out;
}
