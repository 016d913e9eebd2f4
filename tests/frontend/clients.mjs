// Every frontend document sent by Apollo Client and urql, as a frontend team configures them:
//   node clients.mjs URL TOKEN OPERATIONS_DIR [CODEGEN_MANIFEST]
// Prints one JSON line per request: {document, client, sent, status, codes, typename}.
// Clients: Apollo Client's persisted-query link (sha256 of what it prints) and its plain HttpLink;
// urql's persistedExchange and fetchExchange; with a codegen manifest, Apollo's persisted-query
// link hashing as graphql-codegen's client preset documents it (generateHash: the document's
// __meta__.hash), hash only.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { createHash } from "node:crypto";
import { parse } from "graphql";
import { ApolloClient, InMemoryCache, HttpLink, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, cacheExchange, fetchExchange } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";

const [url, token, operations, codegenManifest] = process.argv.slice(2);
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith(".graphql")) files.push(path);
  }
};
walk(operations);

let exchanges = [];
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init);
  const body = await response.clone().json();
  exchanges.push({
    sent: init && init.body ? JSON.parse(init.body) : { get: String(input) },
    status: response.status,
    codes: (body.errors || []).map((e) => e.extensions && e.extensions.code),
    typename: body.data && body.data.viewer ? body.data.viewer.__typename ?? null : undefined,
  });
  return response;
};
const headers = { authorization: `Bearer ${token}` };
const apollo = (link) => new ApolloClient({ cache: new InMemoryCache(), link });
const http = () => new HttpLink({ uri: url, fetch: recordingFetch, headers });
const clients = {
  "apollo-client persisted-query link": () =>
    apollo(new PersistedQueryLink({ sha256 }).concat(http())),
  "apollo-client HttpLink": () => apollo(http()),
  "urql persistedExchange": () =>
    new Client({
      url,
      fetch: recordingFetch,
      fetchOptions: { headers },
      preferGetMethod: false,
      exchanges: [cacheExchange, persistedExchange({ preferGetForPersistedQueries: false }), fetchExchange],
    }),
  "urql fetchExchange": () =>
    new Client({ url, fetch: recordingFetch, fetchOptions: { headers }, preferGetMethod: false, exchanges: [cacheExchange, fetchExchange] }),
};

async function send(client, document, operation) {
  if (client instanceof ApolloClient) {
    const options = { errorPolicy: "all" };
    return operation === "mutation"
      ? client.mutate({ mutation: document, ...options }).catch(() => null)
      : client.query({ query: document, fetchPolicy: "network-only", ...options }).catch(() => null);
  }
  return operation === "mutation" ? client.mutation(document, {}).toPromise() : client.query(document, {}).toPromise();
}

const report = (document, client) => {
  for (const exchange of exchanges) console.log(JSON.stringify({ document, client, ...exchange }));
  exchanges = [];
};
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const operation = parse(text).definitions.find((d) => d.kind === "OperationDefinition").operation;
  for (const [name, make] of Object.entries(clients)) {
    await send(make(), name.startsWith("apollo") ? gql(text) : text, operation);
    report(relative(operations, file), name);
  }
}
if (codegenManifest) {
  const persisted = JSON.parse(readFileSync(codegenManifest, "utf8"));
  for (const [hash, body] of Object.entries(persisted)) {
    const document = { ...parse(body), __meta__: { hash } };
    const link = new PersistedQueryLink({ generateHash: (d) => d.__meta__.hash }).concat(http());
    const operation = document.definitions.find((d) => d.kind === "OperationDefinition");
    await send(apollo(link), document, operation.operation);
    report(operation.name.value, "apollo-client with codegen's hashes");
  }
}
