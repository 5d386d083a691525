/** Pod and container security settings shared by every workload we run ("restricted" Pod Security Standard). */
import type * as k8s from "@pulumi/kubernetes";

type Input<T> = k8s.types.input.core.v1.PodSecurityContext & T;

/** Non-root UID/GID used by our images (the runtime image creates this user). */
export const NON_ROOT_UID = 10001;

export const restrictedPodSecurityContext: Input<object> = {
  runAsNonRoot: true,
  runAsUser: NON_ROOT_UID,
  runAsGroup: NON_ROOT_UID,
  fsGroup: NON_ROOT_UID,
  seccompProfile: { type: "RuntimeDefault" },
};

export const restrictedContainerSecurityContext: k8s.types.input.core.v1.SecurityContext = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** Labels that make the API server enforce a Pod Security Standard on a namespace. */
export function podSecurityLabels(level: "restricted" | "baseline" | "privileged"): Record<string, string> {
  return {
    "pod-security.kubernetes.io/enforce": level,
    "pod-security.kubernetes.io/audit": level,
    "pod-security.kubernetes.io/warn": level,
  };
}
