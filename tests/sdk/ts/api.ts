// A minimal typed fetch client over the `paths` that openapi-typescript generates: request bodies
// and answers are the spec's types, so tsc checks every call a partner writes.
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
type Method = "get" | "post" | "patch" | "delete";
type Operation<Paths, P extends keyof Paths, M extends Method> = NonNullable<Paths[P][M & keyof Paths[P]]>;
type BodyOf<O> = O extends { requestBody?: infer R } ? Json<NonNullable<R>> : never;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type Answer<O> = O extends { responses: infer R } ? Json<R[keyof R & (200 | 201 | 202)]> : never;
type Path = Record<string, string>;

export function client<Paths>(baseUrl: string, key: string) {
  async function call(method: string, template: string, path: Path, query: object = {}, body?: unknown) {
    const url = new URL(template.replace(/{(\w+)}/g, (_, name: string) => encodeURIComponent(path[name])), baseUrl);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const response = await fetch(url, {
      method,
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer: unknown = await response.json();
    if (!response.ok) {
      throw new Error(`${response.status}: ${JSON.stringify(answer)}`);
    }
    return answer;
  }
  return {
    get: <P extends keyof Paths & string>(path: P, query?: QueryOf<Operation<Paths, P, "get">>, params: Path = {}) =>
      call("GET", path, params, query ?? {}) as Promise<Answer<Operation<Paths, P, "get">>>,
    post: <P extends keyof Paths & string>(path: P, body: BodyOf<Operation<Paths, P, "post">>, params: Path = {}) =>
      call("POST", path, params, {}, body) as Promise<Answer<Operation<Paths, P, "post">>>,
    patch: <P extends keyof Paths & string>(path: P, body: BodyOf<Operation<Paths, P, "patch">>, params: Path = {}) =>
      call("PATCH", path, params, {}, body) as Promise<Answer<Operation<Paths, P, "patch">>>,
  };
}
