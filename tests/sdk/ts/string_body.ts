// A string as the POST /api/v1/leads body: `tsc --strict` must refuse it.
import { client } from "./api";
import type { paths } from "./v1";

const api = client<paths>("http://127.0.0.1:4010", "eal_test_replace_me");

export async function createFromAString(): Promise<string> {
  const created = await api.post("/api/v1/leads", "sarah@example.com");
  return created.id;
}
