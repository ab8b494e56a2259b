// The control plane, typed from /_sandbox/openapi.json: the README's inline scenario, sent as is.
import { client } from "./api";
import type { paths } from "./control-plane";

const control = client<paths>("http://127.0.0.1:4010", "eal_test_replace_me");

export async function startMine(): Promise<string> {
  const run = await control.post("/_sandbox/scenarios/active", {
    scenario: {
      version: 1,
      name: "my-scenario",
      description: "What it does.",
      behaviour: {
        rate_limit: { limit: 5, window: "60s" },
        faults: [{ operations: ["list_*", "get_*"], status: 503, every: 3, retry_after: "2s" }],
      },
      timeline: [{ trigger: "call.qualified", count: 3 }, { advance: "5m" }],
    },
  });
  const clock = await control.get("/_sandbox/clock");
  return `${run.state} at ${clock.now}`;
}
