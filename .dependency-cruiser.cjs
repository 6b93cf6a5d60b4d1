/**
 * The one-way layer rule of STYLE.md, checked in CI:
 *   errors.ts                      <- everyone (imports nothing of ours)
 *   crypto, tlog                   leaves: pure, import nothing of ours but errors
 *   core                           pure domain: may use crypto, tlog
 *   compute                        worker threads running core/crypto functions on all cores:
 *                                  core, crypto only; app, server, cli may use it
 *   app                            use cases + ports: core, crypto, tlog
 *   storage/common                 engine-neutral rows, mappers and checks both adapters share:
 *                                  app ports, core, crypto; never an adapter or a driver
 *   storage/<adapter>              app ports, core, crypto, storage/common; never a sibling adapter
 *   federation                     core, app, crypto
 *   server                         app, federation, core, crypto
 *   cli                            composition root: anything
 *   web                            nothing of ours (it speaks the HTTP contract only)
 */
const layer = (name) => `^src/${name}/`;
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "leaves-are-pure",
      comment: "crypto and tlog are leaves: they import nothing of ours but errors.ts",
      severity: "error",
      from: { path: "^src/(crypto|tlog)/" },
      to: { path: "^src/", pathNot: ["^src/errors\\.ts$", "^src/$1/"] },
    },
    {
      name: "core-is-pure",
      severity: "error",
      from: { path: layer("core") },
      to: { path: "^src/(app|storage|federation|server|cli|web|compute)/" },
    },
    {
      name: "core-no-io",
      comment: "core does no I/O: no filesystem, network or process access",
      severity: "error",
      from: { path: "^src/(core|crypto|tlog)/" },
      to: {
        path: "^(node:)?(fs|fs/promises|net|http|https|child_process|dgram|tls)$",
        dependencyTypes: ["core"],
      },
    },
    {
      name: "compute-uses-core-only",
      comment:
        "compute owns threads (a resource, so not core) but no I/O: it runs pure core and crypto functions",
      severity: "error",
      from: { path: layer("compute") },
      to: { path: "^src/(app|storage|federation|server|cli|web|tlog)/" },
    },
    {
      name: "app-uses-ports-not-adapters",
      severity: "error",
      from: { path: layer("app") },
      to: { path: "^src/(storage|federation|server|cli|web)/" },
    },
    {
      name: "storage-adapters-are-siblings",
      comment: "an adapter imports no other adapter; storage/common is the one thing they share",
      severity: "error",
      from: { path: "^src/storage/(?!common/)([^/]+)/" },
      to: { path: "^src/(storage/(?!$1/|common/)|federation|server|cli|web)" },
    },
    {
      name: "storage-common-is-engine-neutral",
      comment:
        "what both adapters share knows no adapter and no driver: app ports, core, crypto only",
      severity: "error",
      from: { path: "^src/storage/common/" },
      to: {
        path: [
          "^src/(?!app/ports\\.ts$|core/|crypto/|errors\\.ts$|storage/common/)",
          "node_modules/(@types/)?(better-sqlite3|pg)/",
        ],
      },
    },
    {
      name: "no-storage-driver-outside-adapters",
      severity: "error",
      from: { pathNot: "^src/(storage|cli)/" },
      to: { path: "node_modules/(better-sqlite3|pg)/" },
    },
    {
      name: "federation-below-server",
      severity: "error",
      from: { path: layer("federation") },
      to: { path: "^src/(storage|server|cli|web)/" },
    },
    {
      name: "server-below-cli",
      severity: "error",
      from: { path: layer("server") },
      to: { path: "^src/(storage|cli|web)/" },
    },
    {
      name: "web-speaks-http-only",
      severity: "error",
      from: { path: layer("web") },
      to: { path: "^src/(?!web/)" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "\\.test\\.ts$" },
  },
};
