// `make docs`: write the files generated from the settings table (tests fail when they are stale).
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { configurationMarkdown, exampleToml } from "../src/ops/toml-text.ts";

const root = resolve(import.meta.dir, "..");
for (const [path, text] of [
  ["orch.toml", exampleToml()],
  ["docs/configuration.md", configurationMarkdown()],
] as const) {
  writeFileSync(join(root, path), text);
  console.log(`wrote ${path}`);
}
