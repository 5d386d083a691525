import assert from "node:assert/strict";
import { test } from "node:test";
import { modelFetchContainer } from "../../../../components/serving/model-source";

test("the Azure blob fetch logs in without needing a subscription (the identity has container-scope roles only)", () => {
  const [init] = modelFetchContainer({ kind: "azureBlob", uri: "https://acct.blob.core.windows.net/models/m1" }, "model");
  const script = String((init.command as string[])[2]);
  const login = script.split(";").find((part) => part.includes("az login"));
  assert.ok(login, "the fetch script runs az login");
  assert.match(login, /--allow-no-subscriptions/, "az login needs --allow-no-subscriptions");
});
