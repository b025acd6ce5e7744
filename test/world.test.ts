import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { tempWorld, World } from "./helpers/world.ts";
import { tempEngineWorld } from "./helpers/engine-world.ts";

test("a world is removed when the `using` block that holds it ends, also when the block throws", async () => {
  let root = "";
  {
    using world = new World("feature/x");
    root = world.root;
    expect(existsSync(world.remote)).toBe(true);
  }
  expect(existsSync(root)).toBe(false);
  {
    await using w = tempWorld({ clones: 2 });
    root = w.world.root;
    expect(w.clones.map((c) => c.git("rev-parse", "--abbrev-ref", "HEAD").trim())).toEqual(["feature/x", "feature/x"]);
  }
  expect(existsSync(root)).toBe(false);
  const failing = async () => {
    await using w = tempEngineWorld();
    root = w.world.root;
    throw new Error("boom");
  };
  await expect(failing()).rejects.toThrow("boom");
  expect(existsSync(root)).toBe(false);
});
