// The create of client.ts with a misspelled LeadCreate field: `tsc --strict` must refuse it.
import { client } from "./api";
import type { paths } from "./v1";

const api = client<paths>("http://127.0.0.1:4010", "eal_test_replace_me");

export async function createWithATypo(): Promise<string> {
  const created = await api.post("/api/v1/leads", { name: "Sarah Mitchell", emial: "sarah@example.com" });
  return created.id;
}
