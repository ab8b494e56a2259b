// A small partner client of the v1 API, typed from the served /openapi.json by openapi-typescript.
// `tsc --strict` must accept it (tests/sdk/test_typescript.py).
import { client } from "./api";
import type { components, paths } from "./v1";

type Schemas = components["schemas"];
const api = client<paths>("http://127.0.0.1:4010", "eal_test_replace_me");

export async function leadRoundTrip(): Promise<string> {
  const health: Schemas["Health"] = await api.get("/api/v1/health");
  const tenant: string | undefined = health.tenant_id;

  const lead: Schemas["LeadCreate"] = { name: "Sarah Mitchell", company: "Mitchell Restoration" };
  const created: Schemas["LeadCreated"] = await api.post("/api/v1/leads", lead);
  const patched = await api.patch("/api/v1/leads/{id}", { pipeline_stage: "qualified", lead_score: 82 },
                                  { id: created.id });
  const score: number = patched.lead_score;

  const page = await api.get("/api/v1/leads", { limit: 10, pipeline_stage: "qualified" });
  const next: string | null = page.next_cursor;
  const audit = await api.get("/api/v1/audit-log", { action: "lead.updated", source: "api" });
  const actions: string[] = audit.data.map((event) => event.action);

  const hook = await api.post("/api/v1/webhooks", {
    url: "https://crm-bridge.example.com/webhook",
    events: ["lead.created", "call.qualified"],
  });
  const secret: string = hook.signing_secret;
  const hooks = await api.get("/api/v1/webhooks");
  const more: string | null | undefined = hooks.next_cursor; // optional: production may leave it out

  const claim = await api.get("/api/v1/claims/{id}", undefined, { id: "clm_8w3p1m" });
  const scopeIds = claim.rooms.flatMap((room) => room.scope_items.map((item) => item.id ?? item.code));
  return [tenant, created.id, score, next, actions.length, secret, more, scopeIds.length].join(",");
}
