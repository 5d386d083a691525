import assert from "node:assert/strict";
import { test } from "node:test";
import {
  FETCH_IMAGES,
  LLM_MODEL_TOOL,
  modelArgs,
  modelFetchContainer,
  type ModelSource,
} from "../../../../components/serving/model-source";

const RUNTIME = "ghcr.io/org/llm-runtime:1.0.0";
const pin = { version: "2026-11-28.1", digest: `sha256:${"ab".repeat(32)}` };

test("a pinned object-store source is fetched by the artifact tool of the runtime image: that version, that digest", () => {
  const [s3] = modelFetchContainer({ kind: "s3", uri: "s3://bucket/models/m1/", ...pin }, "model", RUNTIME);
  assert.equal(s3.image, RUNTIME);
  assert.deepEqual(s3.command, [
    LLM_MODEL_TOOL,
    "fetch",
    "--from",
    "s3://bucket/models/m1",
    "--version",
    pin.version,
    "--digest",
    pin.digest,
    "--to",
    "/models/model",
  ]);
  const [blob] = modelFetchContainer(
    { kind: "azureBlob", uri: "https://acct.blob.core.windows.net/models/models/m1", ...pin },
    "model",
    RUNTIME,
  );
  assert.equal(blob.image, RUNTIME);
  assert.deepEqual((blob.command as string[]).slice(1, 4), [
    "fetch",
    "--from",
    "https://acct.blob.core.windows.net/models/models/m1",
  ]);
});

test("the runtime is held to the pin: --model-digest for fetched, claimed and tarball sources alike", () => {
  const sources: ModelSource[] = [
    { kind: "s3", uri: "s3://bucket/m1", ...pin },
    { kind: "pvc", claimName: "models", subPath: `m1/${pin.version}`, ...pin },
    { kind: "https", uri: "https://models.example.com/m1.tar.gz", ...pin },
  ];
  for (const source of sources) {
    const args = modelArgs(source);
    assert.equal(args[args.indexOf("--model-digest") + 1], pin.digest, source.kind);
  }
  assert.deepEqual(modelArgs({ kind: "pvc", claimName: "models", subPath: `m1/${pin.version}`, ...pin }).slice(0, 2), [
    "--model",
    `/models/m1/${pin.version}`,
  ]);
  assert.deepEqual(modelArgs({ kind: "s3", uri: "s3://bucket/m1" }), ["--model", "/models/model"]);
  assert.deepEqual(modelArgs({ kind: "demo" }), ["--demo"]);
});

test("an unpinned source (local, dev) is copied with the store's CLI, unverified", () => {
  const [init] = modelFetchContainer({ kind: "s3", uri: "s3://bucket/m1/" }, "model", RUNTIME);
  assert.equal(init.image, FETCH_IMAGES.s3);
  assert.match(String((init.command as string[])[2]), /aws s3 sync 's3:\/\/bucket\/m1\/' \/models\/model/);
});

test("the Azure blob copy logs in without needing a subscription (the identity has container-scope roles only)", () => {
  const [init] = modelFetchContainer(
    { kind: "azureBlob", uri: "https://acct.blob.core.windows.net/models/m1" },
    "model",
    RUNTIME,
  );
  const script = String((init.command as string[])[2]);
  const login = script.split(";").find((part) => part.includes("az login"));
  assert.ok(login, "the fetch script runs az login");
  assert.match(login, /--allow-no-subscriptions/, "az login needs --allow-no-subscriptions");
});

test("a claim or the demo model needs no fetch step", () => {
  assert.deepEqual(modelFetchContainer({ kind: "pvc", claimName: "models", subPath: "", ...pin }, "model", RUNTIME), []);
  assert.deepEqual(modelFetchContainer({ kind: "demo" }, "model", RUNTIME), []);
});
