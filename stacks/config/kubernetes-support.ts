/**
 * End of standard support per Kubernetes minor, for EKS and AKS: the dates the `kubernetes-version-supported`
 * policy checks a cluster's `version` against. Refresh it from the sources below when a provider publishes a
 * new minor; a version missing here fails the policy, so a bump cannot slip past it.
 */

export const KUBERNETES_SUPPORT_FILE = "stacks/config/kubernetes-support.ts";
export const KUBERNETES_SUPPORT_AS_OF = "2026-12-02";

/** Days a cluster's version must stay in standard support after the plan date. */
export const SUPPORT_MARGIN_DAYS = 90;

export interface SupportRow {
  /** Last day of standard support (UTC, inclusive). */
  endOfStandardSupport: string;
  source: string;
}

const EKS_SOURCE = "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar";
/**
 * EKS: exact dates from the release calendar (the extended-support billing starts on that day, UTC). Cross-checked
 * against https://endoflife.date/amazon-eks, which mirrors the same table.
 */
export const EKS_STANDARD_SUPPORT: Readonly<Record<string, SupportRow>> = {
  "1.29": { endOfStandardSupport: "2025-03-23", source: EKS_SOURCE },
  "1.30": { endOfStandardSupport: "2025-07-23", source: EKS_SOURCE },
  "1.31": { endOfStandardSupport: "2025-11-26", source: EKS_SOURCE },
  "1.32": { endOfStandardSupport: "2026-03-23", source: EKS_SOURCE },
  "1.33": { endOfStandardSupport: "2026-07-29", source: EKS_SOURCE },
  "1.34": { endOfStandardSupport: "2026-12-02", source: EKS_SOURCE },
  "1.35": { endOfStandardSupport: "2027-03-27", source: EKS_SOURCE },
};

const AKS_SOURCE = "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions#aks-kubernetes-release-calendar";
/**
 * AKS: the calendar gives months; its note says a month-only end of life is the last day of that month
 * (MicrosoftDocs/azure-aks-docs, articles/aks/supported-kubernetes-versions.md, ms.date 2026-08-05).
 * Explicit dates (1.30, 1.31) are taken as written.
 */
export const AKS_STANDARD_SUPPORT: Readonly<Record<string, SupportRow>> = {
  "1.30": { endOfStandardSupport: "2025-08-22", source: AKS_SOURCE },
  "1.31": { endOfStandardSupport: "2025-11-01", source: AKS_SOURCE },
  "1.32": { endOfStandardSupport: "2026-03-31", source: AKS_SOURCE },
  "1.33": { endOfStandardSupport: "2026-07-31", source: AKS_SOURCE },
  "1.34": { endOfStandardSupport: "2026-11-30", source: AKS_SOURCE },
  "1.35": { endOfStandardSupport: "2027-03-31", source: AKS_SOURCE },
  "1.36": { endOfStandardSupport: "2027-06-30", source: AKS_SOURCE },
  "1.37": { endOfStandardSupport: "2027-10-31", source: AKS_SOURCE },
};

export type CloudSubstrate = "eks" | "aks";

export const SUPPORT_TABLES: Readonly<Record<CloudSubstrate, Readonly<Record<string, SupportRow>>>> = {
  eks: EKS_STANDARD_SUPPORT,
  aks: AKS_STANDARD_SUPPORT,
};

const DAY_MS = 24 * 60 * 60 * 1000;

export type SupportVerdict =
  | { ok: true; endOfStandardSupport: string }
  | { ok: false; reason: "unknown" }
  | { ok: false; reason: "ending"; endOfStandardSupport: string; deadline: string };

/**
 * Whether `version` on `substrate` is in standard support through `planDate + SUPPORT_MARGIN_DAYS` (whole UTC
 * days). Later plan dates can only turn a pass into a failure, never the reverse.
 */
export function supportVerdict(substrate: CloudSubstrate, version: string, planDate: Date): SupportVerdict {
  const row = SUPPORT_TABLES[substrate][version];
  if (!row) return { ok: false, reason: "unknown" };
  const day = Date.UTC(planDate.getUTCFullYear(), planDate.getUTCMonth(), planDate.getUTCDate());
  const deadline = new Date(day + SUPPORT_MARGIN_DAYS * DAY_MS).toISOString().slice(0, 10);
  if (deadline <= row.endOfStandardSupport) return { ok: true, endOfStandardSupport: row.endOfStandardSupport };
  return { ok: false, reason: "ending", endOfStandardSupport: row.endOfStandardSupport, deadline };
}
