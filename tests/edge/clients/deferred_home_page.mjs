// The deferred HomePage as the portals read it: Apollo Client (Defer20220824Handler) and urql,
// over the gateway's multipart/mixed answer. Prints one JSON line per client: when each result
// arrived (ms after the request) and what it held, on each client's second request.
//   node deferred_home_page.mjs URL TOKEN DOCUMENT_PATH
import { readFileSync } from "node:fs";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { Defer20220824Handler } from "@apollo/client/incremental";
import { Client, fetchExchange } from "@urql/core";

const [url, token, documentPath] = process.argv.slice(2);
const text = readFileSync(documentPath, "utf8");
const headers = { authorization: `Bearer ${token}` };

function seen(viewer) {
  return {
    displayName: viewer?.displayName ?? null,
    contracts: viewer?.contracts?.length ?? null,
    demandes: viewer?.demandes?.edges?.length ?? null,
    documents: viewer?.documents ? viewer.documents.edges.length : null,
    reglements: viewer?.reglements ? viewer.reglements.edges.length : null,
  };
}

async function apollo() {
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: new HttpLink({ uri: url, headers }),
    incrementalHandler: new Defer20220824Handler(),
  });
  const started = performance.now();
  const results = [];
  await new Promise((resolve, reject) => {
    const subscription = client
      .watchQuery({ query: gql(text), fetchPolicy: "network-only", errorPolicy: "all" })
      .subscribe({
        next(result) {
          if (!result.data) return;
          results.push({
            at: Math.round(performance.now() - started),
            dataState: result.dataState,
            errors: (result.error?.errors ?? []).map((e) => e.extensions?.code),
            ...seen(result.data.viewer),
          });
          if (result.dataState === "complete") {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
  });
  return results;
}

async function urql() {
  const client = new Client({ url, exchanges: [fetchExchange], fetchOptions: { headers } });
  const started = performance.now();
  const results = [];
  await new Promise((resolve) => {
    const { unsubscribe } = client
      .query(text, {}, { requestPolicy: "network-only" })
      .subscribe((result) => {
        results.push({
          at: Math.round(performance.now() - started),
          hasNext: result.hasNext,
          errors: (result.error?.graphQLErrors ?? []).map((e) => e.extensions?.code),
          ...seen(result.data?.viewer),
        });
        if (!result.hasNext) {
          setTimeout(() => unsubscribe());
          resolve();
        }
      });
  });
  return results;
}

// each client once to warm up (module code, connection), then the run reported
await apollo();
console.log(JSON.stringify({ client: "apollo", results: await apollo() }));
await urql();
console.log(JSON.stringify({ client: "urql", results: await urql() }));
