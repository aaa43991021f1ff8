// Runs graphql-http's auditServer, the GraphQL-over-HTTP reference audit, against a running Koppel.
// Usage: node audit.mjs http://127.0.0.1:8080/graphql
// Prints every result; exits 1 on any error or warning (a failed MUST or SHOULD/MAY), 0 otherwise.
import { auditServer } from 'graphql-http';

const url = process.argv[2] ?? process.env.KOPPEL_AUDIT_URL;
if (!url) {
  console.error('usage: node audit.mjs <url of /graphql>');
  process.exit(2);
}

let results;
try {
  results = await auditServer({ url });
} catch (error) {
  // auditServer throws only when it cannot run at all (e.g. nothing listens at the URL).
  console.error(`the audit could not run against ${url}: ${error.cause?.message ?? error.message}`);
  process.exit(1);
}
const counts = { ok: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  const mark = { ok: 'ok   ', warn: 'WARN ', error: 'ERROR' }[result.status];
  console.log(`${mark} ${result.id} ${result.name}`);
  if (result.status !== 'ok') {
    console.log(`      ${result.reason}`);
    if (result.response) {
      const body = await result.response.text().catch(() => '');
      console.log(`      status ${result.response.status}, content-type ${result.response.headers.get('content-type')}`);
      console.log(`      body ${body.slice(0, 300)}`);
    }
  }
}
console.log(`\n${counts.ok} ok, ${counts.warn} warnings, ${counts.error} errors (of ${results.length} audits)`);
process.exit(counts.warn + counts.error === 0 ? 0 : 1);
