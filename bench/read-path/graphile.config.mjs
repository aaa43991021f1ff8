// PostGraphile 5 for the read-path benchmark only (run.sh starts it). Production-like: the Amber preset,
// the `public` schema of the bench database, no GraphiQL, no watch mode, no explain.
// DATABASE_URL, PG_PORT and PG_POOL_MAX come from run.sh.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      // Koppel's PostgreSQL pool holds at most 16 connections; give PostGraphile the same.
      poolConfig: { max: Number(process.env.PG_POOL_MAX ?? 16) },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PG_PORT ?? 5678),
    graphiql: false,
    graphiqlOnGraphQLGET: false,
    watch: false,
    websockets: false,
  },
  grafast: {
    explain: false,
  },
};

export default preset;
